-- Sittings (one exam event of a certificate and level on a pinned bank version and blueprint),
-- the exam sites and rooms taking part, the people who sit exams, their registrations and
-- candidate sessions, and retake bans (written by result publication, read by registration).
-- Times are Unix seconds; calendar dates are 'YYYY-MM-DD' text in China Standard Time.

CREATE TABLE sittings (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    certificate_id   TEXT NOT NULL REFERENCES certificates (id),
    bank_version_id  TEXT NOT NULL REFERENCES bank_versions (id),
    title            TEXT NOT NULL,
    blueprint        TEXT NOT NULL,
    blueprint_hash   TEXT NOT NULL,
    -- HMAC key of the per-candidate paper seeds; never sent to a candidate.
    secret           TEXT NOT NULL,
    opens_at         BIGINT NOT NULL,
    closes_at        BIGINT NOT NULL,
    late_entry_until BIGINT NOT NULL,
    duration_secs    BIGINT NOT NULL CHECK (duration_secs > 0),
    exam_date        TEXT NOT NULL,
    published_at     BIGINT,
    created_by       TEXT NOT NULL REFERENCES staff_users (id),
    created_at       BIGINT NOT NULL,
    CHECK (opens_at < closes_at),
    CHECK (late_entry_until >= opens_at AND late_entry_until <= closes_at)
);
CREATE INDEX sittings_by_certificate ON sittings (certificate_id);
CREATE INDEX sittings_by_organization ON sittings (organization_id);

CREATE TABLE sitting_sites (
    sitting_id TEXT NOT NULL REFERENCES sittings (id),
    site_id    TEXT NOT NULL REFERENCES sites (id),
    PRIMARY KEY (sitting_id, site_id)
);
CREATE INDEX sitting_sites_by_site ON sitting_sites (site_id);

CREATE TABLE rooms (
    id         TEXT PRIMARY KEY,
    sitting_id TEXT NOT NULL REFERENCES sittings (id),
    site_id    TEXT NOT NULL REFERENCES sites (id),
    code       TEXT NOT NULL,
    capacity   BIGINT NOT NULL CHECK (capacity > 0),
    created_at BIGINT NOT NULL,
    UNIQUE (sitting_id, code)
);

-- One row per person, keyed by the normalized identity document, so one person is one person
-- across sittings (the retake ban follows the person, not the registration).
CREATE TABLE people (
    id              TEXT PRIMARY KEY,
    document_kind   TEXT NOT NULL,
    document_number TEXT NOT NULL,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (document_kind, document_number)
);

CREATE TABLE registrations (
    id              TEXT PRIMARY KEY,
    sitting_id      TEXT NOT NULL REFERENCES sittings (id),
    person_id       TEXT NOT NULL REFERENCES people (id),
    site_id         TEXT NOT NULL REFERENCES sites (id),
    -- Admission ticket: random, unguessable, unique.
    ticket          TEXT NOT NULL UNIQUE,
    class_code      TEXT,
    room_id         TEXT REFERENCES rooms (id),
    extra_time_secs BIGINT NOT NULL DEFAULT 0 CHECK (extra_time_secs >= 0),
    created_by      TEXT NOT NULL REFERENCES staff_users (id),
    created_at      BIGINT NOT NULL,
    UNIQUE (sitting_id, person_id)
);
CREATE INDEX registrations_by_person ON registrations (person_id);
-- Room capacity is counted at every registration into a room.
CREATE INDEX registrations_by_room ON registrations (room_id);

CREATE TABLE candidate_sessions (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX candidate_sessions_by_registration ON candidate_sessions (registration_id);

-- The bottom-10% rule: a person may not sit this certificate code and level again before
-- `until` (exclusive, a CST date), unless the ban was lifted by an admin with a reason.
CREATE TABLE retake_bans (
    id               TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES people (id),
    certificate_code TEXT NOT NULL,
    level            TEXT NOT NULL,
    sitting_id       TEXT NOT NULL REFERENCES sittings (id),
    until            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    lifted_at        BIGINT,
    lifted_by        TEXT REFERENCES staff_users (id),
    lift_reason      TEXT,
    UNIQUE (person_id, sitting_id)
);
CREATE INDEX retake_bans_by_person ON retake_bans (person_id, certificate_code, level);
