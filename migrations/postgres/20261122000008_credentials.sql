-- Issued certificates (the signed documents given to passing candidates; `certificates` is the
-- certificate TYPE) and the credit bank's append-only ledger (`crate::credentials`).
--
-- An issued certificate keeps the exact bytes that were signed (`payload`, RFC 8785 JSON) with
-- the signature and key id, so the document can be served again byte for byte. Revocation
-- fills the revoked_* columns once; nothing else of a row ever changes. Times: Unix seconds.
CREATE TABLE issued_certificates (
    number            TEXT PRIMARY KEY,
    registration_id   TEXT NOT NULL REFERENCES registrations (id),
    sitting_id        TEXT NOT NULL REFERENCES sittings (id),
    person_id         TEXT NOT NULL REFERENCES people (id),
    certificate_id    TEXT NOT NULL REFERENCES certificates (id),
    organization_id   TEXT NOT NULL REFERENCES organizations (id),
    credits           BIGINT NOT NULL CHECK (credits >= 0),
    payload           TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    signature         TEXT NOT NULL,
    issued_at         BIGINT NOT NULL,
    issued_by         TEXT NOT NULL,
    revoked_at        BIGINT,
    -- 'result_corrected': the result no longer passes (a later pass issues a new one);
    -- 'manual': revoked by the issuing organization or an admin (never re-issued).
    revocation_kind   TEXT CHECK (revocation_kind IN ('result_corrected', 'manual')),
    revocation_reason TEXT,
    revoked_by        TEXT,
    CHECK ((revoked_at IS NULL) = (revocation_kind IS NULL)),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
-- At most one live certificate per registration: two replicas issuing at once meet here.
CREATE UNIQUE INDEX issued_certificates_live_per_registration
    ON issued_certificates (registration_id) WHERE revoked_at IS NULL;
CREATE INDEX issued_certificates_by_sitting ON issued_certificates (sitting_id);
CREATE INDEX issued_certificates_by_person ON issued_certificates (person_id);

-- The credit bank: one row per posting, never updated or deleted (the triggers refuse it).
-- An issued certificate posts +credits ('issue'), its revocation -credits ('reversal'); each
-- at most once per certificate. A balance is the sum of a person's amounts.
CREATE TABLE credit_ledger (
    id                 BIGSERIAL PRIMARY KEY,
    person_id          TEXT NOT NULL REFERENCES people (id),
    certificate_number TEXT NOT NULL REFERENCES issued_certificates (number),
    kind               TEXT NOT NULL CHECK (kind IN ('issue', 'reversal')),
    amount             BIGINT NOT NULL,
    at                 BIGINT NOT NULL,
    actor              TEXT NOT NULL,
    UNIQUE (certificate_number, kind),
    CHECK ((kind = 'issue' AND amount >= 0) OR (kind = 'reversal' AND amount <= 0))
);
CREATE INDEX credit_ledger_by_person ON credit_ledger (person_id, id);

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credit_ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
