//! Storage for [`crate::analysis`]: everything the item analysis of one sitting needs, in
//! three queries whatever the number of attempts.
//!
//! Only attempts with a `results` row are read (publication writes one per graded attempt;
//! absent and voided candidates have none), so the analysis covers exactly the attempts the
//! published ranking covered. The three queries (results with the attempts' papers, their
//! item scores, their responses) are each ordered by attempt id and merged in one pass.

use crate::analysis::{StoredAttempt, StoredItemResponse, StoredItemScore};

use super::{Storage, StorageError};

impl Storage {
    /// The published attempts of a sitting with their papers, item scores and responses,
    /// ordered by attempt id (responses by item id within an attempt), and the pass score
    /// in hundredths recorded with the results (`None` without results).
    pub async fn analysis_attempts(
        &self,
        sitting_id: &str,
    ) -> Result<(Vec<StoredAttempt>, Option<i64>), StorageError> {
        let results: Vec<(String, i64, i64, i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.attempt_id, r.total_hundredths, r.max_hundredths, r.pass_hundredths, a.paper \
                 FROM results r JOIN attempts a ON a.id = r.attempt_id \
                 WHERE r.sitting_id = $1 ORDER BY r.attempt_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        let scores: Vec<(String, String, Option<i64>, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.attempt_id, s.item_id, s.score_hundredths, s.max_hundredths \
                 FROM item_scores s JOIN results r ON r.attempt_id = s.attempt_id \
                 WHERE r.sitting_id = $1 ORDER BY s.attempt_id, s.item_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        let responses: Vec<(String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.attempt_id, p.item_id, p.response \
                 FROM responses p JOIN results r ON r.attempt_id = p.attempt_id \
                 WHERE r.sitting_id = $1 ORDER BY p.attempt_id, p.item_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        let pass = results.first().map(|row| row.3);
        let mut attempts: Vec<StoredAttempt> = results
            .into_iter()
            .map(|(attempt_id, total, max, _, paper)| StoredAttempt {
                attempt_id,
                total_hundredths: total,
                max_hundredths: max,
                paper,
                scores: Vec::new(),
                responses: Vec::new(),
            })
            .collect();
        // All three lists are in the database's attempt-id order (one collation for all
        // three): walk the scores and responses alongside the attempts.
        let mut position = 0;
        for (attempt_id, item_id, score, max) in scores {
            while attempts
                .get(position)
                .is_some_and(|attempt| attempt.attempt_id != attempt_id)
            {
                position += 1;
            }
            let Some(attempt) = attempts.get_mut(position) else {
                return Err(StorageError::Corrupt(format!(
                    "item score of attempt {attempt_id} out of order"
                )));
            };
            attempt.scores.push(StoredItemScore {
                item_id,
                score_hundredths: score,
                max_hundredths: max,
            });
        }
        let mut position = 0;
        for (attempt_id, item_id, response) in responses {
            while attempts
                .get(position)
                .is_some_and(|attempt| attempt.attempt_id != attempt_id)
            {
                position += 1;
            }
            let Some(attempt) = attempts.get_mut(position) else {
                return Err(StorageError::Corrupt(format!(
                    "response of attempt {attempt_id} out of order"
                )));
            };
            attempt
                .responses
                .push(StoredItemResponse { item_id, response });
        }
        // `prepare` finds responses by binary search: keep them sorted by the same byte order
        // it compares with, whatever collation the database used.
        for attempt in &mut attempts {
            if !attempt
                .responses
                .is_sorted_by(|a, b| a.item_id <= b.item_id)
            {
                attempt
                    .responses
                    .sort_unstable_by(|a, b| a.item_id.cmp(&b.item_id));
            }
        }
        Ok((attempts, pass))
    }

    /// The published totals and paper maxima of a sitting (hundredths), for the histogram,
    /// and the pass score recorded with the results (`None` without results).
    pub async fn analysis_totals(
        &self,
        sitting_id: &str,
    ) -> Result<(Vec<(i64, i64)>, Option<i64>), StorageError> {
        let rows: Vec<(i64, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT total_hundredths, max_hundredths, pass_hundredths FROM results \
                 WHERE sitting_id = $1 ORDER BY attempt_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        let pass = rows.first().map(|row| row.2);
        Ok((
            rows.into_iter()
                .map(|(total, max, _)| (total, max))
                .collect(),
            pass,
        ))
    }
}
