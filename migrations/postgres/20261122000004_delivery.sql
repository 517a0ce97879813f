-- Exam delivery: one attempt per registration, the candidate's saved responses, objective
-- scores, and the time adjustments (pauses, extra time) made by staff.
--
-- Times in these tables are Unix MILLISECONDS (not seconds as elsewhere): deadlines, saves and
-- the auto-submit sweeper compare instants closer than a second apart.

-- The unique registration is what makes two simultaneous starts (double click, two replicas)
-- end with one attempt: the loser's INSERT conflicts and it reads the winner's row.
CREATE TABLE attempts (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL UNIQUE REFERENCES registrations (id),
    sitting_id      TEXT NOT NULL REFERENCES sittings (id),
    status          TEXT NOT NULL CHECK (status IN ('in_progress', 'paused', 'submitted', 'expired', 'terminated')),
    started_at      BIGINT NOT NULL,
    deadline        BIGINT NOT NULL,
    -- When the current pause began (status 'paused'); resuming adds the paused time to the deadline.
    paused_at       BIGINT,
    -- Submission time, or the deadline itself for an attempt the sweeper expired.
    finished_at     BIGINT,
    -- The drawn paper as JSON: sections, items with points (hundredths) and option order.
    -- Re-derivable from bank_version_id + blueprint + seed (`xcert paper verify`).
    paper           TEXT NOT NULL,
    seed            TEXT NOT NULL,
    bank_version_id TEXT NOT NULL REFERENCES bank_versions (id),
    bank_hash       TEXT NOT NULL,
    blueprint_hash  TEXT NOT NULL,
    CHECK (deadline >= started_at)
);
CREATE INDEX attempts_by_sitting ON attempts (sitting_id);
-- The sweeper's scan: open attempts by deadline.
CREATE INDEX attempts_open_by_deadline ON attempts (status, deadline);

-- The latest saved response per item. `seq` is the client's sequence number: an upsert only
-- replaces a row with a higher seq, so retries and reordered deliveries are harmless.
-- `response` is the JSON the candidate sent, in the labels they were shown (A, B, ...).
CREATE TABLE responses (
    attempt_id TEXT NOT NULL REFERENCES attempts (id),
    item_id    TEXT NOT NULL,
    seq        BIGINT NOT NULL CHECK (seq >= 0),
    response   TEXT NOT NULL,
    saved_at   BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, item_id)
);

-- Objective scores, written when an attempt closes. Essay and practical items get a row with
-- state 'needs_manual' and no score: the queue for manual grading.
CREATE TABLE item_scores (
    attempt_id       TEXT NOT NULL REFERENCES attempts (id),
    item_id          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('graded', 'needs_manual')),
    score_hundredths BIGINT CHECK (score_hundredths >= 0),
    max_hundredths   BIGINT NOT NULL CHECK (max_hundredths > 0),
    graded_at        BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, item_id),
    CHECK ((state = 'graded') = (score_hundredths IS NOT NULL))
);

-- Pauses, resumptions and extra-time grants, with who did it and why. Extra time granted
-- before the start has no attempt yet (it is added to registrations.extra_time_secs).
CREATE TABLE time_adjustments (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES registrations (id),
    attempt_id      TEXT REFERENCES attempts (id),
    kind            TEXT NOT NULL CHECK (kind IN ('pause', 'resume', 'extra_time')),
    -- extra_time: the seconds granted; resume: the paused milliseconds added; pause: 0.
    amount          BIGINT NOT NULL CHECK (amount >= 0),
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX time_adjustments_by_registration ON time_adjustments (registration_id);
