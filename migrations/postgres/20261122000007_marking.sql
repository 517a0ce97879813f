-- Manual grading (marking) of essay and practical items (`crate::marking`): each sitting's
-- marking settings, the graders assigned per item, one script per closed attempt and
-- essay/practical item, every hand-out of a script to a grader (a task, with its lease), and
-- every grader's mark. Times are Unix seconds, except `item_scores.graded_at` (delivery, ms).
-- Points are hundredths.

-- Single or double marking for a whole sitting. No row: single marking. Fixed once the
-- sitting's first mark is recorded, so every script of a sitting is marked by the same rule.
CREATE TABLE marking_settings (
    sitting_id           TEXT PRIMARY KEY REFERENCES sittings (id),
    double_marking       BOOLEAN NOT NULL,
    -- Two marks whose totals differ by more than this go to a third grader.
    threshold_hundredths BIGINT NOT NULL CHECK (threshold_hundredths >= 0),
    updated_by           TEXT NOT NULL REFERENCES staff_users (id),
    updated_at           BIGINT NOT NULL
);

-- Which graders mark which essay/practical item of a sitting.
CREATE TABLE marking_assignments (
    sitting_id  TEXT NOT NULL REFERENCES sittings (id),
    item_id     TEXT NOT NULL,
    grader_id   TEXT NOT NULL REFERENCES staff_users (id),
    assigned_by TEXT NOT NULL REFERENCES staff_users (id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (sitting_id, item_id, grader_id)
);
CREATE INDEX marking_assignments_by_grader ON marking_assignments (grader_id);

-- One candidate's answer to one essay/practical item: created from the 'needs_manual'
-- item_scores row the first time a grader of that item asks for work. `state`: 'open' (a
-- first or second mark is due), 'third' (two marks differ by more than the threshold: a third
-- grader is due), 'done' (final score written to item_scores). The current lease, if any:
-- the task handed out, to whom, until when; a lease past its expiry may be taken over.
CREATE TABLE marking_scripts (
    attempt_id       TEXT NOT NULL,
    item_id          TEXT NOT NULL,
    sitting_id       TEXT NOT NULL REFERENCES sittings (id),
    max_hundredths   BIGINT NOT NULL CHECK (max_hundredths > 0),
    state            TEXT NOT NULL CHECK (state IN ('open', 'third', 'done')),
    mark_count       BIGINT NOT NULL DEFAULT 0 CHECK (mark_count >= 0 AND mark_count <= 3),
    task_id          TEXT UNIQUE,
    leased_to        TEXT REFERENCES staff_users (id),
    lease_expires_at BIGINT,
    final_hundredths BIGINT CHECK (final_hundredths >= 0 AND final_hundredths <= max_hundredths),
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, item_id),
    FOREIGN KEY (attempt_id, item_id) REFERENCES item_scores (attempt_id, item_id),
    CHECK ((state = 'done') = (final_hundredths IS NOT NULL)),
    CHECK ((task_id IS NULL) = (leased_to IS NULL) AND (task_id IS NULL) = (lease_expires_at IS NULL))
);
CREATE INDEX marking_scripts_by_sitting ON marking_scripts (sitting_id, item_id, state);

-- Every hand-out of a script to a grader. The id is the opaque task id the grader sees: it
-- names no candidate, attempt or registration, and each hand-out gets a new one.
CREATE TABLE marking_tasks (
    id         TEXT PRIMARY KEY,
    attempt_id TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    grader_id  TEXT NOT NULL REFERENCES staff_users (id),
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (attempt_id, item_id) REFERENCES marking_scripts (attempt_id, item_id)
);
CREATE INDEX marking_tasks_by_grader ON marking_tasks (grader_id);

-- One grader's mark of one script: the score per rubric criterion (JSON array of hundredths,
-- in rubric order, scaled to the paper's points) and their total. A grader marks a script at
-- most once; `ordinal` 1, 2, 3 is the order the marks came in.
CREATE TABLE marks (
    attempt_id       TEXT NOT NULL,
    item_id          TEXT NOT NULL,
    grader_id        TEXT NOT NULL REFERENCES staff_users (id),
    ordinal          BIGINT NOT NULL CHECK (ordinal BETWEEN 1 AND 3),
    task_id          TEXT NOT NULL REFERENCES marking_tasks (id),
    criteria         TEXT NOT NULL,
    total_hundredths BIGINT NOT NULL CHECK (total_hundredths >= 0),
    comment          TEXT,
    marked_at        BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, item_id, grader_id),
    UNIQUE (attempt_id, item_id, ordinal),
    FOREIGN KEY (attempt_id, item_id) REFERENCES marking_scripts (attempt_id, item_id)
);
CREATE INDEX marks_by_grader ON marks (grader_id);
