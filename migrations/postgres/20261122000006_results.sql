-- Results of a sitting, written by result publication (`crate::results`), one row per graded
-- attempt, and the history of score corrections made after publication.
--
-- Who counts as graded: an attempt that was submitted or expired (the sweeper closed it at its
-- deadline) and has a score for every item. A registration without an attempt (absent) and an
-- attempt terminated by a proctor (voided) get no row and are not among the n of the
-- bottom-10% rule. Scores are hundredths of a point.
CREATE TABLE results (
    attempt_id       TEXT PRIMARY KEY REFERENCES attempts (id),
    sitting_id       TEXT NOT NULL REFERENCES sittings (id),
    registration_id  TEXT NOT NULL UNIQUE REFERENCES registrations (id),
    person_id        TEXT NOT NULL REFERENCES people (id),
    total_hundredths BIGINT NOT NULL CHECK (total_hundredths >= 0),
    max_hundredths   BIGINT NOT NULL CHECK (max_hundredths > 0),
    pass_hundredths  BIGINT NOT NULL CHECK (pass_hundredths >= 0),
    passed           BOOLEAN NOT NULL,
    -- Competition rank in the sitting, 1 = best; equal totals share a rank.
    rank             BIGINT NOT NULL CHECK (rank >= 1),
    -- The bottom-10% rule as evaluated for this sitting: n graded attempts, the cut
    -- floor(n * percent / 100), and whether this attempt fell under it.
    graded_count     BIGINT NOT NULL CHECK (graded_count >= 1),
    cut              BIGINT NOT NULL CHECK (cut >= 0),
    banned           BOOLEAN NOT NULL,
    published_at     BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX results_by_sitting ON results (sitting_id);
CREATE INDEX results_by_person ON results (person_id);

-- Scores changed after publication (`PUT /sittings/{id}/results/{attempt}/items/{item}`): one
-- row per change, kept for ever. Each correction re-evaluates the whole sitting in the same
-- transaction (totals, ranks, the bottom-10% rule, pass/fail, bans).
CREATE TABLE score_corrections (
    id              TEXT PRIMARY KEY,
    sitting_id      TEXT NOT NULL REFERENCES sittings (id),
    attempt_id      TEXT NOT NULL REFERENCES attempts (id),
    item_id         TEXT NOT NULL,
    old_hundredths  BIGINT NOT NULL CHECK (old_hundredths >= 0),
    new_hundredths  BIGINT NOT NULL CHECK (new_hundredths >= 0),
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL REFERENCES staff_users (id),
    at              BIGINT NOT NULL
);
CREATE INDEX score_corrections_by_attempt ON score_corrections (attempt_id);
CREATE INDEX score_corrections_by_sitting ON score_corrections (sitting_id);

-- Staff list a sitting's bans, and publication and corrections look them up by sitting.
CREATE INDEX retake_bans_by_sitting ON retake_bans (sitting_id);
