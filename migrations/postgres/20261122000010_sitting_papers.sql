-- A sitting's papers are drawn once for the whole sitting, under the blueprint's exposure cap
-- (xcert_assembly::draw_sitting over the registration ids sorted ascending), and stored, so
-- every replica hands out the same papers (docs/OPERATIONS.md, "Papers"). Times are Unix ms.

-- One row per drawn sitting. The primary key is what makes two replicas drawing at once end
-- with one draw: the loser's INSERT conflicts, its transaction stores nothing, and it reads
-- the winner's papers.
CREATE TABLE sitting_draws (
    sitting_id        TEXT PRIMARY KEY REFERENCES sittings (id),
    -- The registration ids of the first draw, sorted ascending, as a JSON array: the
    -- candidate order draw_sitting ran over (an auditor re-runs it in this order).
    candidates        TEXT NOT NULL,
    -- SHA-256 (hex) of the candidates JSON.
    candidates_sha256 TEXT NOT NULL,
    -- Papers of the first draw; `papers` grows by one per latecomer.
    first_papers      BIGINT NOT NULL CHECK (first_papers >= 0),
    papers            BIGINT NOT NULL CHECK (papers >= first_papers),
    -- The most papers any item may be in now: max(1, floor(max_rate x papers)).
    exposure_limit    BIGINT NOT NULL CHECK (exposure_limit >= 1),
    -- Papers per item so far, JSON {"item id": n}: what a latecomer's paper is drawn against.
    exposure_counts   TEXT NOT NULL,
    bank_hash         TEXT NOT NULL,
    blueprint_hash    TEXT NOT NULL,
    -- The staff user who asked for the draw, or 'system' for a candidate's first start.
    drawn_by          TEXT NOT NULL,
    drawn_at          BIGINT NOT NULL
);

-- Each registration's drawn paper (the JSON a new attempt stores), read by registration id
-- at its start. `draw_seq` is the paper's place in the draw: 0 .. first_papers - 1 the
-- sorted first list, then the latecomers in the order they were drawn.
CREATE TABLE drawn_papers (
    registration_id TEXT PRIMARY KEY REFERENCES registrations (id),
    sitting_id      TEXT NOT NULL REFERENCES sitting_draws (sitting_id),
    draw_seq        BIGINT NOT NULL CHECK (draw_seq >= 0),
    paper           TEXT NOT NULL,
    UNIQUE (sitting_id, draw_seq)
);
