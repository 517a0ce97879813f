-- The proctor pool of each exam site (teachers), their availability per sitting, and proctor
-- draws with the room <-> teacher assignments they produced.
-- Times are Unix seconds; calendar dates are 'YYYY-MM-DD' text (China Standard Time).

-- A teacher of an exam site who may proctor. `classes` and `students` are JSON arrays of
-- text: class codes, and identity-document keys (`resident_id:11010519491231002X`, as
-- `crate::identity` normalizes them) of the students the teacher taught.
CREATE TABLE teachers (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites (id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    classes         TEXT NOT NULL,
    students        TEXT NOT NULL,
    qualified_until TEXT NOT NULL,
    max_rooms       BIGINT CHECK (max_rooms IS NULL OR max_rooms >= 1),
    -- The teacher's own `proctor` login, if they have one: one account, one teacher.
    staff_user_id   TEXT UNIQUE REFERENCES staff_users (id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (site_id, code)
);

-- A teacher's declared availability for one sitting; no row means available.
CREATE TABLE teacher_availability (
    sitting_id  TEXT NOT NULL REFERENCES sittings (id),
    teacher_id  TEXT NOT NULL REFERENCES teachers (id),
    available   BOOLEAN NOT NULL,
    declared_by TEXT NOT NULL REFERENCES staff_users (id),
    declared_at BIGINT NOT NULL,
    PRIMARY KEY (sitting_id, teacher_id)
);

-- One proctor draw of a sitting: the exact CONTRACT section 4 input that was solved, its
-- SHA-256, the seed and the solver's output, so an auditor re-derives it offline. The current
-- draw of a sitting is the one not superseded; a re-draw (admin, with a reason) supersedes it
-- and the old one stays for the record.
CREATE TABLE proctor_draws (
    id             TEXT PRIMARY KEY,
    sitting_id     TEXT NOT NULL REFERENCES sittings (id),
    -- 1 for a sitting's first draw, 2 for the re-draw after it, ...
    number         BIGINT NOT NULL CHECK (number >= 1),
    seed           BIGINT NOT NULL CHECK (seed >= 0),
    input_sha256   TEXT NOT NULL,
    input          TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    drawn_by       TEXT NOT NULL REFERENCES staff_users (id),
    drawn_at       BIGINT NOT NULL,
    reason         TEXT,
    superseded_at  BIGINT,
    superseded_by  TEXT REFERENCES proctor_draws (id),
    UNIQUE (sitting_id, number)
);
-- At most one current draw per sitting, even when two draws race.
CREATE UNIQUE INDEX proctor_draws_current ON proctor_draws (sitting_id) WHERE superseded_at IS NULL;

-- The rooms each draw gave each teacher.
CREATE TABLE proctor_assignments (
    draw_id    TEXT NOT NULL REFERENCES proctor_draws (id),
    room_id    TEXT NOT NULL REFERENCES rooms (id),
    teacher_id TEXT NOT NULL REFERENCES teachers (id),
    PRIMARY KEY (draw_id, room_id, teacher_id)
);
-- "Which rooms may proctor P see": by teacher, then the draw's current flag.
CREATE INDEX proctor_assignments_by_teacher ON proctor_assignments (teacher_id, draw_id);
CREATE INDEX proctor_assignments_by_room ON proctor_assignments (room_id);
