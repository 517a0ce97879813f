-- The server's foundation: organizations, certificates, exam sites, staff, sessions, audit log,
-- and a key-value table for settings the server generates once (the JWT signing secret).
-- Times are Unix seconds (UTC) in BIGINT columns so both backends share one representation.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE certificates (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations (id),
    code               TEXT NOT NULL,
    level              TEXT NOT NULL CHECK (level IN ('junior', 'intermediate', 'senior')),
    title              TEXT NOT NULL,
    credits            BIGINT NOT NULL CHECK (credits >= 0),
    retake_ban_percent BIGINT NOT NULL CHECK (retake_ban_percent BETWEEN 0 AND 100),
    retake_ban_years   BIGINT NOT NULL CHECK (retake_ban_years BETWEEN 0 AND 10),
    created_at         BIGINT NOT NULL,
    UNIQUE (code, level)
);
CREATE INDEX certificates_by_organization ON certificates (organization_id);

CREATE TABLE staff_users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'org', 'site', 'proctor', 'grader', 'auditor')),
    organization_id TEXT REFERENCES organizations (id),
    site_id         TEXT REFERENCES sites (id),
    created_at      BIGINT NOT NULL,
    CHECK (role <> 'org' OR organization_id IS NOT NULL),
    CHECK (role <> 'site' OR site_id IS NOT NULL)
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    actor          TEXT NOT NULL,
    at             BIGINT NOT NULL,
    action         TEXT NOT NULL,
    object         TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL
);
