//! Storage for [`crate::marking`]: settings, assignments, scripts, tasks (leases) and marks.
//!
//! Times are Unix seconds, except `item_scores.graded_at` (milliseconds, a delivery table).
//!
//! Three rules, each kept inside one transaction:
//!
//! - **One grader holds a script at a time.** [`Storage::next_marking_task`] claims a script
//!   with a conditional `UPDATE` (no lease, or an expired one); losing that race means trying
//!   the next candidate, never sharing the script.
//! - **A grader marks a script at most once**: the primary key of `marks` is (script, grader),
//!   and the hand-out query skips scripts the grader has marked.
//! - **A final score lands with its mark.** [`Storage::record_mark`] writes the mark, resolves
//!   the script ([`crate::marking::resolve`]), updates the `needs_manual` row of `item_scores`
//!   and appends the audit entries in one transaction; refused marks write nothing.
//!
//! On SQLite the first statement of each writing transaction is a write, so the transactions
//! run one at a time against the latest data (no read-then-upgrade failures).

use super::{AuditEntry, Storage, StorageError};
use crate::marking::{MarkingPolicy, Resolution, resolve};

/// A sitting's marking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingSettings {
    /// The sitting.
    pub sitting_id: String,
    /// Two independent marks per script.
    pub double_marking: bool,
    /// Hundredths: a larger difference between two marks needs a third.
    pub threshold_hundredths: i64,
    /// Who set them.
    pub updated_by: String,
    /// Unix seconds.
    pub updated_at: i64,
}

impl MarkingSettings {
    /// The rule [`crate::marking::resolve`] applies.
    pub fn policy(&self) -> MarkingPolicy {
        MarkingPolicy {
            double_marking: self.double_marking,
            threshold_hundredths: u32::try_from(self.threshold_hundredths).unwrap_or(u32::MAX),
        }
    }
}

/// What became of a settings change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsOutcome {
    /// Stored.
    Saved,
    /// Refused: the sitting has marks already.
    MarkingStarted,
    /// Refused: the sitting's results are published.
    Published,
}

/// A grader assigned to an item of a sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingAssignment {
    /// The bank item.
    pub item_id: String,
    /// The grader's staff id.
    pub grader_id: String,
    /// The grader's username.
    pub grader_username: String,
    /// Unix seconds.
    pub assigned_at: i64,
}

/// A replacement of the graders of one item of a sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentChange {
    /// The sitting.
    pub sitting_id: String,
    /// The item.
    pub item_id: String,
    /// The graders' staff ids (the complete new set; empty removes every grader).
    pub grader_ids: Vec<String>,
    /// Who assigns.
    pub assigned_by: String,
    /// Unix seconds.
    pub at: i64,
}

/// A script handed out to a grader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingTask {
    /// The opaque task id the grader sees.
    pub task_id: String,
    /// The attempt (never shown to the grader).
    pub attempt_id: String,
    /// The item.
    pub item_id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The grader.
    pub grader_id: String,
    /// The item's points in this paper, hundredths.
    pub max_hundredths: i64,
    /// Unix seconds when the lease ends.
    pub expires_at: i64,
}

/// A hand-out request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRequest {
    /// The grader asking.
    pub grader_id: String,
    /// Only scripts of this sitting, when given.
    pub sitting_id: Option<String>,
    /// Unix seconds.
    pub now: i64,
    /// How long the lease lasts, seconds.
    pub lease_secs: i64,
    /// A fresh random id for the task, used if a new script is handed out.
    pub new_task_id: String,
}

/// A mark to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMark {
    /// The task it answers.
    pub task_id: String,
    /// The grader.
    pub grader_id: String,
    /// Score per criterion, hundredths, in rubric order.
    pub criteria: Vec<u32>,
    /// Optional remark.
    pub comment: Option<String>,
    /// Unix milliseconds (item_scores.graded_at); the mark's own time is this in seconds.
    pub at_ms: i64,
}

/// What became of a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkOutcome {
    /// Stored as the `ordinal`-th mark of the script; `resolution` says what happens next.
    Recorded {
        /// 1, 2 or 3.
        ordinal: i64,
        /// Another mark due, a third grader due, or the final score.
        resolution: Resolution,
    },
    /// No such task, or not this grader's.
    UnknownTask,
    /// The sitting's results are published.
    Published,
    /// The grader is no longer assigned to the item.
    NotAssigned,
    /// The grader has marked this script already.
    AlreadyMarked,
    /// The lease ran out and another grader holds or has marked the script.
    LeaseLost,
}

/// Counts of one item's scripts in a sitting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemProgress {
    /// The item.
    pub item_id: String,
    /// Every script (closed attempts with this item).
    pub total: i64,
    /// No mark yet.
    pub unmarked: i64,
    /// Exactly one mark recorded.
    pub marked_once: i64,
    /// Two marks recorded.
    pub double_marked: i64,
    /// Three marks recorded.
    pub third_marked: i64,
    /// Two marks too far apart, waiting for a third grader.
    pub awaiting_third: i64,
    /// Final score written.
    pub done: i64,
    /// Currently leased to a grader.
    pub in_hand: i64,
}

/// One grader's work in a sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraderProgress {
    /// Staff id.
    pub grader_id: String,
    /// Username.
    pub username: String,
    /// Marks given in the sitting.
    pub marks: i64,
    /// Scripts currently leased to them.
    pub in_hand: i64,
}

type TaskRow = (String, String, String, String, String, i64, i64);

const TASK_COLUMNS: &str =
    "t.id, t.attempt_id, t.item_id, s.sitting_id, t.grader_id, s.max_hundredths, t.expires_at";

fn task_from_row(row: TaskRow) -> MarkingTask {
    let (task_id, attempt_id, item_id, sitting_id, grader_id, max_hundredths, expires_at) = row;
    MarkingTask {
        task_id,
        attempt_id,
        item_id,
        sitting_id,
        grader_id,
        max_hundredths,
        expires_at,
    }
}

/// Creates the scripts of every closed attempt's `needs_manual` row of the items assigned to
/// `$1` (in the sitting `$2` when it is not NULL) that have none yet. In key order, so
/// concurrent syncs on PostgreSQL take their row locks in the same order.
const SYNC_SCRIPTS: &str = "INSERT INTO marking_scripts (attempt_id, item_id, sitting_id, max_hundredths, state, mark_count, created_at) \
     SELECT sc.attempt_id, sc.item_id, a.sitting_id, sc.max_hundredths, 'open', 0, $3 \
     FROM marking_assignments g \
     JOIN sittings t ON t.id = g.sitting_id AND t.published_at IS NULL \
     JOIN attempts a ON a.sitting_id = g.sitting_id AND a.status IN ('submitted', 'expired') \
     JOIN item_scores sc ON sc.attempt_id = a.id AND sc.item_id = g.item_id AND sc.state = 'needs_manual' \
     WHERE g.grader_id = $1 AND ($2 IS NULL OR g.sitting_id = $2) \
       AND NOT EXISTS (SELECT 1 FROM marking_scripts m WHERE m.attempt_id = sc.attempt_id AND m.item_id = sc.item_id) \
     ORDER BY sc.attempt_id, sc.item_id \
     ON CONFLICT (attempt_id, item_id) DO NOTHING";

/// The grader's live lease, if any.
const LIVE_LEASE: &str = "SELECT t.id, t.attempt_id, t.item_id, s.sitting_id, t.grader_id, s.max_hundredths, t.expires_at \
     FROM marking_scripts s JOIN marking_tasks t ON t.id = s.task_id \
     JOIN sittings st ON st.id = s.sitting_id AND st.published_at IS NULL \
     WHERE s.leased_to = $1 AND s.lease_expires_at > $2 AND s.state <> 'done' \
       AND ($3 IS NULL OR s.sitting_id = $3) \
     ORDER BY t.issued_at, t.id LIMIT 1";

/// Scripts the grader may take: assigned item, sitting unpublished, a mark due, no live
/// lease of someone else, not marked by this grader. Scripts with more marks first (finish
/// what is started), then by key (attempt ids are random, so not in candidate order).
const CANDIDATES: &str = "SELECT s.attempt_id, s.item_id FROM marking_scripts s \
     JOIN marking_assignments g ON g.sitting_id = s.sitting_id AND g.item_id = s.item_id AND g.grader_id = $1 \
     JOIN sittings t ON t.id = s.sitting_id AND t.published_at IS NULL \
     WHERE s.state <> 'done' AND (s.leased_to IS NULL OR s.lease_expires_at <= $2) \
       AND ($3 IS NULL OR s.sitting_id = $3) \
       AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.attempt_id = s.attempt_id AND m.item_id = s.item_id AND m.grader_id = $1) \
     ORDER BY s.mark_count DESC, s.attempt_id, s.item_id LIMIT 8";

/// The progress line of `item_id`, created empty on first use.
fn progress_entry<'a>(
    items: &'a mut std::collections::BTreeMap<String, ItemProgress>,
    item_id: &str,
) -> &'a mut ItemProgress {
    items
        .entry(item_id.to_owned())
        .or_insert_with(|| ItemProgress {
            item_id: item_id.to_owned(),
            ..ItemProgress::default()
        })
}

impl Storage {
    /// A sitting's marking settings; `None` when never set (single marking).
    pub async fn marking_settings(
        &self,
        sitting_id: &str,
    ) -> Result<Option<MarkingSettings>, StorageError> {
        let row: Option<(String, bool, i64, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT sitting_id, double_marking, threshold_hundredths, updated_by, updated_at \
                 FROM marking_settings WHERE sitting_id = $1",
            )
            .bind(sitting_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(
            |(sitting_id, double_marking, threshold_hundredths, updated_by, updated_at)| {
                MarkingSettings {
                    sitting_id,
                    double_marking,
                    threshold_hundredths,
                    updated_by,
                    updated_at,
                }
            },
        ))
    }

    /// Stores a sitting's marking settings unless marking has started or results are
    /// published.
    pub async fn save_marking_settings(
        &self,
        settings: &MarkingSettings,
        audit: &AuditEntry,
    ) -> Result<SettingsOutcome, StorageError> {
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // A write first (see the module doc), which also locks the sitting's row.
            let published: Option<(Option<i64>,)> = sqlx::query_as(
                "UPDATE sittings SET published_at = published_at WHERE id = $1 RETURNING published_at",
            )
            .bind(&settings.sitting_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (marks,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM marks m JOIN marking_scripts s ON s.attempt_id = m.attempt_id AND s.item_id = m.item_id \
                 WHERE s.sitting_id = $1",
            )
            .bind(&settings.sitting_id)
            .fetch_one(&mut *tx)
            .await?;
            match published {
                None => return Err(StorageError::MissingReference("sitting")),
                Some((Some(_),)) => SettingsOutcome::Published,
                Some((None,)) if marks > 0 => SettingsOutcome::MarkingStarted,
                Some((None,)) => {
                    sqlx::query(
                        "INSERT INTO marking_settings (sitting_id, double_marking, threshold_hundredths, updated_by, updated_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sitting_id) DO UPDATE SET \
                         double_marking = excluded.double_marking, threshold_hundredths = excluded.threshold_hundredths, \
                         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    )
                    .bind(&settings.sitting_id)
                    .bind(settings.double_marking)
                    .bind(settings.threshold_hundredths)
                    .bind(&settings.updated_by)
                    .bind(settings.updated_at)
                    .execute(&mut *tx)
                    .await?;
                    append_audit!(&mut *tx, audit)?;
                    tx.commit().await?;
                    SettingsOutcome::Saved
                }
            }
        });
        Ok(outcome)
    }

    /// Every grader assignment of a sitting, by item and username.
    pub async fn marking_assignments(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<MarkingAssignment>, StorageError> {
        let rows: Vec<(String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.item_id, g.grader_id, u.username, g.assigned_at FROM marking_assignments g \
                 JOIN staff_users u ON u.id = g.grader_id WHERE g.sitting_id = $1 ORDER BY g.item_id, u.username",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(item_id, grader_id, grader_username, assigned_at)| MarkingAssignment {
                    item_id,
                    grader_id,
                    grader_username,
                    assigned_at,
                },
            )
            .collect())
    }

    /// Replaces the graders of one item of a sitting, and ends the leases of graders no longer
    /// assigned (their scripts go back to the pool at once). `false` (nothing written) when the
    /// sitting's results are published.
    pub async fn replace_marking_assignment(
        &self,
        change: &AssignmentChange,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let saved = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let published: Option<(Option<i64>,)> = sqlx::query_as(
                "UPDATE sittings SET published_at = published_at WHERE id = $1 RETURNING published_at",
            )
            .bind(&change.sitting_id)
            .fetch_optional(&mut *tx)
            .await?;
            match published {
                None => return Err(StorageError::MissingReference("sitting")),
                Some((Some(_),)) => false,
                Some((None,)) => {
                    sqlx::query("DELETE FROM marking_assignments WHERE sitting_id = $1 AND item_id = $2")
                        .bind(&change.sitting_id)
                        .bind(&change.item_id)
                        .execute(&mut *tx)
                        .await?;
                    for grader in &change.grader_ids {
                        sqlx::query(
                            "INSERT INTO marking_assignments (sitting_id, item_id, grader_id, assigned_by, assigned_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        )
                        .bind(&change.sitting_id)
                        .bind(&change.item_id)
                        .bind(grader)
                        .bind(&change.assigned_by)
                        .bind(change.at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query(
                        "UPDATE marking_scripts SET task_id = NULL, leased_to = NULL, lease_expires_at = NULL \
                         WHERE sitting_id = $1 AND item_id = $2 AND leased_to IS NOT NULL \
                           AND leased_to NOT IN (SELECT grader_id FROM marking_assignments WHERE sitting_id = $1 AND item_id = $2)",
                    )
                    .bind(&change.sitting_id)
                    .bind(&change.item_id)
                    .execute(&mut *tx)
                    .await?;
                    append_audit!(&mut *tx, audit)?;
                    tx.commit().await?;
                    true
                }
            }
        });
        Ok(saved)
    }

    /// Whether `grader_id` is assigned to any item of the sitting.
    pub async fn grader_assigned_in_sitting(
        &self,
        sitting_id: &str,
        grader_id: &str,
    ) -> Result<bool, StorageError> {
        let row: Option<(i64,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM marking_assignments WHERE sitting_id = $1 AND grader_id = $2 LIMIT 1")
                .bind(sitting_id)
                .bind(grader_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.is_some())
    }

    /// The drawn papers (JSON) of the sitting's attempts whose text mentions `item_id` as an
    /// item id, at most `limit`; the caller parses them to confirm. A cheap pre-filter
    /// (`LIKE`) instead of parsing every paper of the sitting.
    pub async fn papers_mentioning_item(
        &self,
        sitting_id: &str,
        item_id: &str,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        let escaped = item_id
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%\"id\":\"{escaped}\"%");
        let rows: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT paper FROM attempts WHERE sitting_id = $1 AND paper LIKE $2 ESCAPE '\\' LIMIT $3")
                .bind(sitting_id)
                .bind(&pattern)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(paper,)| paper).collect())
    }

    /// Hands the grader a script: their live lease if they hold one, else the next script they
    /// may mark, leased to them until `now + lease_secs` under `request.new_task_id`. `None`
    /// when nothing is left for them. The hand-out and its audit entry commit together.
    pub async fn next_marking_task(
        &self,
        request: &TaskRequest,
        audit: &AuditEntry,
    ) -> Result<Option<MarkingTask>, StorageError> {
        let grader = &request.grader_id;
        let sitting = request.sitting_id.as_deref();
        let expires_at = request.now.saturating_add(request.lease_secs);
        let task = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // A no-op write on the grader's own row first: on SQLite it takes the write lock
            // (see the module doc); on PostgreSQL it makes one grader's concurrent requests
            // wait for each other, so a double click still hands out one script.
            sqlx::query("UPDATE staff_users SET role = role WHERE id = $1")
                .bind(grader)
                .execute(&mut *tx)
                .await?;
            sqlx::query(SYNC_SCRIPTS)
                .bind(grader)
                .bind(sitting)
                .bind(request.now)
                .execute(&mut *tx)
                .await?;
            let live: Option<TaskRow> = sqlx::query_as(LIVE_LEASE)
                .bind(grader)
                .bind(request.now)
                .bind(sitting)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(live) = live {
                tx.commit().await?;
                return Ok(Some(task_from_row(live)));
            }
            let mut claimed: Option<(String, String)> = None;
            // Another grader may win a candidate between the SELECT and the UPDATE (on
            // PostgreSQL); then the next candidate is tried, and a fresh list after those.
            'rounds: for _ in 0..4 {
                let candidates: Vec<(String, String)> = sqlx::query_as(CANDIDATES)
                    .bind(grader)
                    .bind(request.now)
                    .bind(sitting)
                    .fetch_all(&mut *tx)
                    .await?;
                if candidates.is_empty() {
                    break;
                }
                for (attempt_id, item_id) in candidates {
                    let won = sqlx::query(
                        "UPDATE marking_scripts SET task_id = $3, leased_to = $4, lease_expires_at = $5 \
                         WHERE attempt_id = $1 AND item_id = $2 AND state <> 'done' \
                           AND (leased_to IS NULL OR lease_expires_at <= $6)",
                    )
                    .bind(&attempt_id)
                    .bind(&item_id)
                    .bind(&request.new_task_id)
                    .bind(grader)
                    .bind(expires_at)
                    .bind(request.now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if won {
                        claimed = Some((attempt_id, item_id));
                        break 'rounds;
                    }
                }
            }
            let Some((attempt_id, item_id)) = claimed else {
                tx.commit().await?;
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO marking_tasks (id, attempt_id, item_id, grader_id, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&request.new_task_id)
            .bind(&attempt_id)
            .bind(&item_id)
            .bind(grader)
            .bind(request.now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            let sql = format!(
                "SELECT {TASK_COLUMNS} FROM marking_tasks t JOIN marking_scripts s \
                 ON s.attempt_id = t.attempt_id AND s.item_id = t.item_id WHERE t.id = $1"
            );
            let row: TaskRow = sqlx::query_as(&sql)
                .bind(&request.new_task_id)
                .fetch_one(&mut *tx)
                .await?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            task_from_row(row)
        });
        Ok(Some(task))
    }

    /// One hand-out by task id, whoever holds it.
    pub async fn marking_task(&self, task_id: &str) -> Result<Option<MarkingTask>, StorageError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM marking_tasks t JOIN marking_scripts s \
             ON s.attempt_id = t.attempt_id AND s.item_id = t.item_id WHERE t.id = $1"
        );
        let row: Option<TaskRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task_id).fetch_optional(pool).await?
        });
        Ok(row.map(task_from_row))
    }

    /// The saved response (JSON text) of one item of an attempt.
    pub async fn response_of(
        &self,
        attempt_id: &str,
        item_id: &str,
    ) -> Result<Option<String>, StorageError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT response FROM responses WHERE attempt_id = $1 AND item_id = $2")
                .bind(attempt_id)
                .bind(item_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(response,)| response))
    }

    /// Records a grader's mark for the task they hold and resolves the script under the
    /// sitting's settings: a final score is written to `item_scores` (state `graded`) in the
    /// same transaction, with the audit entries `audit` (the mark) and, when final,
    /// `marking.complete`. Every refusal writes nothing.
    pub async fn record_mark(
        &self,
        mark: &NewMark,
        audit: &AuditEntry,
    ) -> Result<MarkOutcome, StorageError> {
        let criteria_json = serde_json::to_string(&mark.criteria)
            .map_err(|error| StorageError::Corrupt(format!("criteria: {error}")))?;
        let total: i64 = mark.criteria.iter().map(|&score| i64::from(score)).sum();
        let at = mark.at_ms.div_euclid(1000);
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // A no-op write first (see the module doc); it also locks the task's row.
            let task: Option<(String, String, String)> = sqlx::query_as(
                "UPDATE marking_tasks SET grader_id = grader_id WHERE id = $1 RETURNING attempt_id, item_id, grader_id",
            )
            .bind(&mark.task_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((attempt_id, item_id, holder)) = task else {
                return Ok(MarkOutcome::UnknownTask);
            };
            if holder != mark.grader_id {
                return Ok(MarkOutcome::UnknownTask);
            }
            let script: Option<(String, Option<i64>)> = sqlx::query_as(
                "SELECT s.sitting_id, t.published_at FROM marking_scripts s JOIN sittings t ON t.id = s.sitting_id \
                 WHERE s.attempt_id = $1 AND s.item_id = $2",
            )
            .bind(&attempt_id)
            .bind(&item_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((sitting_id, published_at)) = script else {
                return Err(StorageError::Corrupt(format!("task {} has no script", mark.task_id)));
            };
            if published_at.is_some() {
                return Ok(MarkOutcome::Published);
            }
            let assigned: Option<(i64,)> = sqlx::query_as(
                "SELECT CAST(1 AS BIGINT) FROM marking_assignments WHERE sitting_id = $1 AND item_id = $2 AND grader_id = $3",
            )
            .bind(&sitting_id)
            .bind(&item_id)
            .bind(&mark.grader_id)
            .fetch_optional(&mut *tx)
            .await?;
            if assigned.is_none() {
                return Ok(MarkOutcome::NotAssigned);
            }
            let marked: Option<(i64,)> = sqlx::query_as(
                "SELECT CAST(1 AS BIGINT) FROM marks WHERE attempt_id = $1 AND item_id = $2 AND grader_id = $3",
            )
            .bind(&attempt_id)
            .bind(&item_id)
            .bind(&mark.grader_id)
            .fetch_optional(&mut *tx)
            .await?;
            if marked.is_some() {
                return Ok(MarkOutcome::AlreadyMarked);
            }
            // The lease ends with the mark; the task must still be the script's current one
            // (an expired lease nobody else took over is still good).
            let counted: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE marking_scripts SET task_id = NULL, leased_to = NULL, lease_expires_at = NULL, mark_count = mark_count + 1 \
                 WHERE attempt_id = $1 AND item_id = $2 AND task_id = $3 AND state <> 'done' \
                 RETURNING mark_count, max_hundredths",
            )
            .bind(&attempt_id)
            .bind(&item_id)
            .bind(&mark.task_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((ordinal, max_hundredths)) = counted else {
                return Ok(MarkOutcome::LeaseLost);
            };
            if total > max_hundredths {
                return Err(StorageError::Corrupt(format!(
                    "a mark of {total} exceeds the item's {max_hundredths} hundredths"
                )));
            }
            sqlx::query(
                "INSERT INTO marks (attempt_id, item_id, grader_id, ordinal, task_id, criteria, total_hundredths, comment, marked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&attempt_id)
            .bind(&item_id)
            .bind(&mark.grader_id)
            .bind(ordinal)
            .bind(&mark.task_id)
            .bind(&criteria_json)
            .bind(total)
            .bind(&mark.comment)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let settings: Option<(bool, i64)> = sqlx::query_as(
                "SELECT double_marking, threshold_hundredths FROM marking_settings WHERE sitting_id = $1",
            )
            .bind(&sitting_id)
            .fetch_optional(&mut *tx)
            .await?;
            let policy = settings.map_or(MarkingPolicy::SINGLE, |(double_marking, threshold)| {
                MarkingPolicy {
                    double_marking,
                    threshold_hundredths: u32::try_from(threshold).unwrap_or(u32::MAX),
                }
            });
            let totals: Vec<(i64,)> = sqlx::query_as(
                "SELECT total_hundredths FROM marks WHERE attempt_id = $1 AND item_id = $2 ORDER BY ordinal",
            )
            .bind(&attempt_id)
            .bind(&item_id)
            .fetch_all(&mut *tx)
            .await?;
            let totals: Vec<u32> = totals
                .into_iter()
                .map(|(total,)| u32::try_from(total).unwrap_or(0))
                .collect();
            let resolution = resolve(policy, &totals);
            match resolution {
                Resolution::AnotherMark => {}
                Resolution::ThirdMark => {
                    sqlx::query("UPDATE marking_scripts SET state = 'third' WHERE attempt_id = $1 AND item_id = $2")
                        .bind(&attempt_id)
                        .bind(&item_id)
                        .execute(&mut *tx)
                        .await?;
                }
                Resolution::Final(score) => {
                    sqlx::query(
                        "UPDATE marking_scripts SET state = 'done', final_hundredths = $3 WHERE attempt_id = $1 AND item_id = $2",
                    )
                    .bind(&attempt_id)
                    .bind(&item_id)
                    .bind(i64::from(score))
                    .execute(&mut *tx)
                    .await?;
                    let graded = sqlx::query(
                        "UPDATE item_scores SET state = 'graded', score_hundredths = $3, graded_at = $4 \
                         WHERE attempt_id = $1 AND item_id = $2 AND state = 'needs_manual'",
                    )
                    .bind(&attempt_id)
                    .bind(&item_id)
                    .bind(i64::from(score))
                    .bind(mark.at_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if graded != 1 {
                        return Err(StorageError::Corrupt(format!(
                            "the item score of script {attempt_id}/{item_id} is no longer awaiting manual grading"
                        )));
                    }
                }
            }
            append_audit!(&mut *tx, audit)?;
            if let Resolution::Final(score) = resolution {
                let complete = crate::app::audit_entry(
                    &audit.actor,
                    "marking.complete",
                    &audit.object,
                    &serde_json::json!({"final_hundredths": score, "marks": totals}),
                );
                append_audit!(&mut *tx, complete)?;
            }
            tx.commit().await?;
            MarkOutcome::Recorded { ordinal, resolution }
        });
        Ok(outcome)
    }

    /// Marking progress of a sitting: per item (every item with scripts or graders) and per
    /// assigned or marking grader.
    pub async fn marking_progress(
        &self,
        sitting_id: &str,
        now: i64,
    ) -> Result<(Vec<ItemProgress>, Vec<GraderProgress>), StorageError> {
        type Counted = (String, String, i64, i64, i64);
        type Fetched = (
            Vec<Counted>,
            Vec<(String, i64)>,
            Vec<(String,)>,
            Vec<(String, String, i64, i64)>,
        );
        let (scripts, pending, assigned, graders): Fetched = on_pool!(self, pool => {
            let scripts: Vec<Counted> = sqlx::query_as(
                "SELECT item_id, state, mark_count, \
                 CAST(SUM(CASE WHEN leased_to IS NOT NULL AND lease_expires_at > $2 THEN 1 ELSE 0 END) AS BIGINT), COUNT(*) \
                 FROM marking_scripts WHERE sitting_id = $1 GROUP BY item_id, state, mark_count",
            )
            .bind(sitting_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            let pending: Vec<(String, i64)> = sqlx::query_as(
                "SELECT sc.item_id, COUNT(*) FROM attempts a JOIN item_scores sc ON sc.attempt_id = a.id \
                 WHERE a.sitting_id = $1 AND a.status IN ('submitted', 'expired') AND sc.state = 'needs_manual' \
                   AND NOT EXISTS (SELECT 1 FROM marking_scripts m WHERE m.attempt_id = sc.attempt_id AND m.item_id = sc.item_id) \
                 GROUP BY sc.item_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?;
            let assigned: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT item_id FROM marking_assignments WHERE sitting_id = $1",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?;
            let graders: Vec<(String, String, i64, i64)> = sqlx::query_as(
                "SELECT u.id, u.username, \
                 (SELECT COUNT(*) FROM marks m JOIN marking_scripts s ON s.attempt_id = m.attempt_id AND s.item_id = m.item_id \
                   WHERE s.sitting_id = $1 AND m.grader_id = u.id), \
                 (SELECT COUNT(*) FROM marking_scripts s WHERE s.sitting_id = $1 AND s.leased_to = u.id AND s.lease_expires_at > $2) \
                 FROM staff_users u WHERE u.id IN ( \
                   SELECT grader_id FROM marking_assignments WHERE sitting_id = $1 \
                   UNION SELECT m.grader_id FROM marks m JOIN marking_scripts s ON s.attempt_id = m.attempt_id AND s.item_id = m.item_id \
                   WHERE s.sitting_id = $1) \
                 ORDER BY u.username",
            )
            .bind(sitting_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            (scripts, pending, assigned, graders)
        });
        let mut items: std::collections::BTreeMap<String, ItemProgress> =
            std::collections::BTreeMap::new();
        for (item_id,) in &assigned {
            progress_entry(&mut items, item_id);
        }
        for (item_id, count) in &pending {
            let item = progress_entry(&mut items, item_id);
            item.total += count;
            item.unmarked += count;
        }
        for (item_id, state, mark_count, in_hand, count) in &scripts {
            let item = progress_entry(&mut items, item_id);
            item.total += count;
            item.in_hand += in_hand;
            match mark_count {
                0 => item.unmarked += count,
                1 => item.marked_once += count,
                2 => item.double_marked += count,
                _ => item.third_marked += count,
            }
            match state.as_str() {
                "done" => item.done += count,
                "third" => item.awaiting_third += count,
                _ => {}
            }
        }
        let graders = graders
            .into_iter()
            .map(|(grader_id, username, marks, in_hand)| GraderProgress {
                grader_id,
                username,
                marks,
                in_hand,
            })
            .collect();
        Ok((items.into_values().collect(), graders))
    }
}
