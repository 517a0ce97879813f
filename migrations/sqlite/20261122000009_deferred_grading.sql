-- Objective grading leaves the close: a submit (or an expiry) is acknowledged once the
-- attempt's status and finish time are durable, and a grading pass scores closed attempts
-- afterwards (crate::delivery::scoring). `graded_at` (Unix ms) says the pass has written the
-- attempt's item_scores; NULL on a closed attempt means it still waits for the pass.
ALTER TABLE attempts ADD COLUMN graded_at BIGINT;

-- Attempts closed before this migration were graded in their closing transaction.
UPDATE attempts SET graded_at = finished_at
 WHERE status IN ('submitted', 'expired')
   AND EXISTS (SELECT 1 FROM item_scores WHERE item_scores.attempt_id = attempts.id);

-- The grading pass's work list: closed attempts not graded yet.
CREATE INDEX attempts_to_grade ON attempts (status) WHERE graded_at IS NULL;
