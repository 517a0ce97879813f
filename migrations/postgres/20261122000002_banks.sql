-- Question-bank versions uploaded by evaluation organizations. A version is immutable: the
-- uploaded source is stored as sent (a TOML file or a bank-directory archive) together with the
-- content hash of its canonical form (docs/BANK-FORMAT.md), and is re-parsed when needed.

CREATE TABLE bank_versions (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    certificate_id  TEXT NOT NULL REFERENCES certificates (id),
    version         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    item_count      BIGINT NOT NULL CHECK (item_count >= 0),
    -- Summary kept beside the source so listing versions needs no re-parse: the number of
    -- declared knowledge points, and items per type as a JSON object {"single_choice": n, ...}.
    knowledge_points BIGINT NOT NULL CHECK (knowledge_points >= 0),
    items_by_type   TEXT NOT NULL,
    source_format   TEXT NOT NULL CHECK (source_format IN ('toml', 'tar', 'tar.gz', 'zip')),
    source          BYTEA NOT NULL,
    uploaded_by     TEXT NOT NULL REFERENCES staff_users (id),
    created_at      BIGINT NOT NULL,
    UNIQUE (certificate_id, version)
);
CREATE INDEX bank_versions_by_organization ON bank_versions (organization_id);
