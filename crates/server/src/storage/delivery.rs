//! Storage of attempts and responses (exam delivery).
//!
//! Times here are Unix **milliseconds** (the migration `20261122000004_delivery.sql` says so).
//!
//! Three rules make a saved answer safe, and each lives in one statement:
//!
//! - **One attempt per registration.** [`Storage::create_attempt`] inserts with
//!   `ON CONFLICT (registration_id) DO NOTHING` and reads back whichever row won.
//! - **An older seq never overwrites a newer one.** [`Storage::save_batch`] upserts with
//!   `ON CONFLICT ... DO UPDATE ... WHERE excluded.seq > responses.seq`.
//! - **No save lands in a closed attempt.** The same upsert joins the attempt and writes only
//!   where it is `in_progress` and the save arrived by the deadline plus the grace; closing
//!   ([`Storage::close_attempt`]) flips the status in its own transaction. On SQLite the first
//!   statement of each of these transactions is a write, so they run one at a time against the
//!   latest data. On PostgreSQL the batch first locks its attempts `FOR UPDATE` (in id order), so
//!   a submit's `UPDATE` waits for a batch saving into that attempt to commit, and a batch
//!   after the submit sees the closed status.
//! - **Scores come from what was saved before the close.** Closing only changes the status;
//!   the grading pass reads the responses of a closed attempt, which no save can change any
//!   more, and records the scores with `graded_at` in one transaction
//!   ([`Storage::write_batch`] with [`AttemptScores`]).

use std::collections::{BTreeSet, HashMap};

use super::{AuditEntry, Storage, StorageError};

/// The status of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// Running: saves are accepted until the deadline plus the grace.
    InProgress,
    /// Stopped by staff: saves are refused, the clock is stopped.
    Paused,
    /// Submitted by the candidate.
    Submitted,
    /// Closed by the sweeper at its deadline.
    Expired,
    /// Ended by staff.
    Terminated,
}

impl AttemptStatus {
    /// The name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::InProgress => "in_progress",
            AttemptStatus::Paused => "paused",
            AttemptStatus::Submitted => "submitted",
            AttemptStatus::Expired => "expired",
            AttemptStatus::Terminated => "terminated",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        Ok(match text {
            "in_progress" => AttemptStatus::InProgress,
            "paused" => AttemptStatus::Paused,
            "submitted" => AttemptStatus::Submitted,
            "expired" => AttemptStatus::Expired,
            "terminated" => AttemptStatus::Terminated,
            other => return Err(StorageError::Corrupt(format!("attempt status `{other}`"))),
        })
    }

    /// Whether the attempt has ended (submitted, expired or terminated).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            AttemptStatus::Submitted | AttemptStatus::Expired | AttemptStatus::Terminated
        )
    }
}

/// A candidate's attempt at a sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Random id.
    pub id: String,
    /// The registration (one candidate in one sitting); unique.
    pub registration_id: String,
    /// The sitting.
    pub sitting_id: String,
    /// Where the attempt stands.
    pub status: AttemptStatus,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms; saves are accepted until this plus the grace.
    pub deadline: i64,
    /// Unix ms when the current pause began.
    pub paused_at: Option<i64>,
    /// Unix ms: the submission, or the deadline for an expired attempt.
    pub finished_at: Option<i64>,
    /// The drawn paper (JSON, never sent as is).
    pub paper: String,
    /// The paper seed, 64 hex digits.
    pub seed: String,
    /// The pinned bank version.
    pub bank_version_id: String,
    /// Content hash of that bank version.
    pub bank_hash: String,
    /// Hash of the blueprint.
    pub blueprint_hash: String,
}

/// What a new attempt is made of; the deadline is computed inside the transaction.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// Random id.
    pub id: String,
    /// The registration.
    pub registration_id: String,
    /// The sitting.
    pub sitting_id: String,
    /// Unix ms.
    pub started_at: i64,
    /// The sitting's duration, ms.
    pub duration_ms: i64,
    /// The sitting's window close, Unix ms: the deadline never passes it at start.
    pub closes_at: i64,
    /// The drawn paper (JSON).
    pub paper: String,
    /// The paper seed.
    pub seed: String,
    /// The pinned bank version.
    pub bank_version_id: String,
    /// Its content hash.
    pub bank_hash: String,
    /// The blueprint hash.
    pub blueprint_hash: String,
}

/// A saved response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The item.
    pub item_id: String,
    /// The highest seq stored.
    pub seq: i64,
    /// The response JSON as the candidate sent it.
    pub response: String,
    /// Unix ms when the server received it.
    pub saved_at: i64,
}

/// One save, as the writer task hands it to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Save {
    /// The attempt.
    pub attempt_id: String,
    /// The item.
    pub item_id: String,
    /// The client's sequence number.
    pub seq: i64,
    /// The response JSON.
    pub response: String,
    /// Unix ms when the server received the request: the deadline is checked against this.
    pub received_at: i64,
}

/// What became of one save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Durable; `seq` is the highest seq stored for the item (the save's own or a newer one).
    Stored {
        /// The highest seq stored.
        seq: i64,
    },
    /// The attempt is paused.
    Paused,
    /// The attempt has been submitted or terminated.
    Closed,
    /// The save arrived after the deadline plus the grace (or the attempt expired).
    DeadlinePassed,
    /// No such attempt.
    NoAttempt,
}

/// An objective score as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScore {
    /// The item.
    pub item_id: String,
    /// Hundredths; `None` while manual grading is outstanding.
    pub score: Option<i64>,
    /// The item's points, hundredths.
    pub max: i64,
}

/// How an attempt is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The candidate submits: accepted until the deadline plus the grace; after that the
    /// attempt is closed as expired at its deadline instead.
    Submit,
    /// The sweeper closes an attempt whose deadline plus grace has passed.
    Expire,
}

/// The result of [`Storage::close_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// This call closed it, with this status, and wrote its scores.
    Closed(AttemptStatus),
    /// It was not open (already closed, paused, or not yet due for the sweeper): its status.
    Unchanged(AttemptStatus),
    /// No such attempt.
    NoAttempt,
}

/// A request to close an attempt, written in a batch with saves. Closing only fixes the
/// status and the finish time; the objective scores follow in a later batch
/// ([`AttemptScores`], written by the grading pass, `crate::delivery::scoring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The attempt.
    pub attempt_id: String,
    /// Submit or expire.
    pub closing: Closing,
    /// Unix ms when the request reached the server (a submit counts then).
    pub now: i64,
}

/// The objective scores of one closed attempt, as the grading pass computed them: per item
/// `(item id, score in hundredths or None for manual grading, the item's points)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptScores {
    /// The attempt (closed: submitted or expired).
    pub attempt_id: String,
    /// Per item of the paper, in paper order.
    pub scores: Vec<(String, Option<u32>, u32)>,
    /// Unix ms.
    pub graded_at: i64,
}

/// A closed attempt that the grading pass has not scored yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UngradedAttempt {
    /// The attempt.
    pub id: String,
    /// Its sitting.
    pub sitting_id: String,
    /// The pinned bank version (to find the keys).
    pub bank_version_id: String,
    /// The drawn paper JSON.
    pub paper: String,
}

/// What one [`Storage::write_batch`] did, in the order of its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// One per save.
    pub saves: Vec<SaveOutcome>,
    /// One per close.
    pub closes: Vec<CloseOutcome>,
    /// One per [`AttemptScores`]: whether this batch recorded them (false: another grading
    /// pass had already, or the attempt is not closed).
    pub grades: Vec<bool>,
}

/// A time adjustment by staff.
#[derive(Debug, Clone)]
pub struct TimeAdjustment {
    /// Random id.
    pub id: String,
    /// Who (staff user id).
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Unix ms.
    pub at: i64,
}

type AttemptRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
);

const ATTEMPT_COLUMNS: &str = "id, registration_id, sitting_id, status, started_at, deadline, paused_at, finished_at, paper, seed, bank_version_id, bank_hash, blueprint_hash";

fn attempt_from_row(row: AttemptRow) -> Result<Attempt, StorageError> {
    let (
        id,
        registration_id,
        sitting_id,
        status,
        started_at,
        deadline,
        paused_at,
        finished_at,
        paper,
        seed,
        bank_version_id,
        bank_hash,
        blueprint_hash,
    ) = row;
    Ok(Attempt {
        status: AttemptStatus::parse(&status)?,
        id,
        registration_id,
        sitting_id,
        started_at,
        deadline,
        paused_at,
        finished_at,
        paper,
        seed,
        bank_version_id,
        bank_hash,
        blueprint_hash,
    })
}

/// `$first, $first+1, ...` placeholders for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A batch's saves with one save per (attempt, item): the highest seq wins (the first of
/// equal seqs). `winner[i]` is the index in `unique` that answers save `i`.
fn deduplicate(saves: &[Save]) -> (Vec<&Save>, Vec<usize>) {
    let mut unique: Vec<&Save> = Vec::with_capacity(saves.len());
    let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(saves.len());
    let mut winner = Vec::with_capacity(saves.len());
    for save in saves {
        let key = (save.attempt_id.as_str(), save.item_id.as_str());
        match index.get(&key) {
            Some(&at) => {
                if save.seq > unique[at].seq {
                    unique[at] = save;
                }
                winner.push(at);
            }
            None => {
                index.insert(key, unique.len());
                winner.push(unique.len());
                unique.push(save);
            }
        }
    }
    (unique, winner)
}

/// Rows per upsert statement: the largest power of two up to [`MAX_CHUNK`] that fits `left`,
/// so a handful of statement texts (prepared once per connection) serve every batch size.
pub(crate) fn chunk_size(left: usize) -> usize {
    if left >= MAX_CHUNK {
        MAX_CHUNK
    } else {
        1 << (usize::BITS - 1 - left.leading_zeros())
    }
}

/// Most rows in one upsert statement.
const MAX_CHUNK: usize = 128;

/// The guarded upsert of `rows` saves: written only into an `in_progress` attempt, only when
/// the save arrived by `deadline + grace`, and only over a lower seq.
fn upsert_sql(rows: usize) -> String {
    let values = (0..rows)
        .map(|row| format!("({})", placeholders(row * 6 + 1, 6)))
        .collect::<Vec<_>>()
        .join(", ");
    let grace = rows * 6 + 1;
    format!(
        "INSERT INTO responses (attempt_id, item_id, seq, response, saved_at) \
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES {values}) AS v \
         JOIN attempts a ON a.id = v.column1 \
         WHERE a.status = 'in_progress' AND v.column6 <= a.deadline + ${grace} \
         ORDER BY v.column1, v.column2 \
         ON CONFLICT (attempt_id, item_id) DO UPDATE SET seq = excluded.seq, response = excluded.response, saved_at = excluded.saved_at \
         WHERE excluded.seq > responses.seq \
         RETURNING attempt_id, item_id, seq"
    )
}

/// Inserts `rows` item scores (attempt, item, state, score, max, graded_at) in one statement.
pub(crate) fn scores_sql(rows: usize) -> String {
    let values = (0..rows)
        .map(|row| format!("({})", placeholders(row * 6 + 1, 6)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO item_scores (attempt_id, item_id, state, score_hundredths, max_hundredths, graded_at) \
         VALUES {values} ON CONFLICT (attempt_id, item_id) DO NOTHING"
    )
}

/// Closes one attempt inside the transaction `$tx`; evaluates to a [`CloseOutcome`]. A macro,
/// like `on_pool!`, so the same statements run on either backend.
macro_rules! close_in {
    ($tx:ident, $close:expr, $grace_ms:expr) => {{
        let close: &Close = $close;
        let mut closed = false;
        if close.closing == Closing::Submit {
            // The submit is in time by when it reached the server ($2), and takes effect after
            // every save the server accepted before it: a save that arrived a moment after the
            // submit request but was written first (an earlier batch, another writer) is part
            // of the attempt, so the finish time is never before a stored answer.
            let (last_save,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(saved_at) FROM responses WHERE attempt_id = $1")
                    .bind(&close.attempt_id)
                    .fetch_one(&mut *$tx)
                    .await?;
            closed = sqlx::query(
                "UPDATE attempts SET status = 'submitted', finished_at = $4 \
                 WHERE id = $1 AND status = 'in_progress' AND $2 <= deadline + $3",
            )
            .bind(&close.attempt_id)
            .bind(close.now)
            .bind($grace_ms)
            .bind(last_save.map_or(close.now, |last| last.max(close.now)))
            .execute(&mut *$tx)
            .await?
            .rows_affected()
                == 1;
        }
        if !closed {
            closed = sqlx::query(
                "UPDATE attempts SET status = 'expired', finished_at = deadline \
                 WHERE id = $1 AND status = 'in_progress' AND $2 > deadline + $3",
            )
            .bind(&close.attempt_id)
            .bind(close.now)
            .bind($grace_ms)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
                == 1;
        }
        let status: Option<(String,)> = sqlx::query_as("SELECT status FROM attempts WHERE id = $1")
            .bind(&close.attempt_id)
            .fetch_optional(&mut *$tx)
            .await?;
        match status {
            None => CloseOutcome::NoAttempt,
            Some((status,)) => {
                let status = AttemptStatus::parse(&status)?;
                if closed {
                    CloseOutcome::Closed(status)
                } else {
                    CloseOutcome::Unchanged(status)
                }
            }
        }
    }};
}

impl Storage {
    /// Creates the attempt of `new.registration_id`, or returns the one that exists: `(attempt,
    /// created)`. The deadline is `min(started_at + duration + extra time, closes_at)`, with the
    /// extra time read from the registration in the same transaction (after a no-op write that
    /// locks the registration row), so an extra-time grant racing with the start is either
    /// seen here or finds the attempt and extends it.
    pub async fn create_attempt(&self, new: &NewAttempt) -> Result<(Attempt, bool), StorageError> {
        let created = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let extra: Option<(i64,)> = sqlx::query_as(
                "UPDATE registrations SET extra_time_secs = extra_time_secs WHERE id = $1 RETURNING extra_time_secs",
            )
            .bind(&new.registration_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((extra_secs,)) = extra else {
                return Err(StorageError::MissingReference("registration"));
            };
            let natural = new
                .started_at
                .saturating_add(new.duration_ms)
                .saturating_add(extra_secs.saturating_mul(1000));
            let deadline = natural.min(new.closes_at).max(new.started_at);
            let done = sqlx::query(
                "INSERT INTO attempts (id, registration_id, sitting_id, status, started_at, deadline, paper, seed, bank_version_id, bank_hash, blueprint_hash) \
                 VALUES ($1, $2, $3, 'in_progress', $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (registration_id) DO NOTHING",
            )
            .bind(&new.id)
            .bind(&new.registration_id)
            .bind(&new.sitting_id)
            .bind(new.started_at)
            .bind(deadline)
            .bind(&new.paper)
            .bind(&new.seed)
            .bind(&new.bank_version_id)
            .bind(&new.bank_hash)
            .bind(&new.blueprint_hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done.rows_affected() == 1
        });
        let attempt = self
            .attempt_of_registration(&new.registration_id)
            .await?
            .ok_or_else(|| {
                StorageError::Corrupt("an attempt vanished after its insert".to_owned())
            })?;
        Ok((attempt, created))
    }

    /// The registrations of a sitting that have no attempt yet: whose papers a start may
    /// need.
    pub async fn unstarted_registrations(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id FROM registrations r WHERE r.sitting_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.registration_id = r.id) ORDER BY r.id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// One attempt by id.
    pub async fn attempt(&self, id: &str) -> Result<Option<Attempt>, StorageError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = $1");
        let row: Option<AttemptRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(attempt_from_row).transpose()
    }

    /// The attempt of a registration, if it has started.
    pub async fn attempt_of_registration(
        &self,
        registration_id: &str,
    ) -> Result<Option<Attempt>, StorageError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE registration_id = $1");
        let row: Option<AttemptRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(registration_id).fetch_optional(pool).await?
        });
        row.map(attempt_from_row).transpose()
    }

    /// The attempt's owner and drawn paper: what a save needs to be validated.
    pub async fn attempt_paper(&self, id: &str) -> Result<Option<(String, String)>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT registration_id, paper FROM attempts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The saved responses of an attempt, by item id.
    pub async fn responses(&self, attempt_id: &str) -> Result<Vec<StoredResponse>, StorageError> {
        let rows: Vec<(String, i64, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT item_id, seq, response, saved_at FROM responses WHERE attempt_id = $1 ORDER BY item_id")
                .bind(attempt_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(item_id, seq, response, saved_at)| StoredResponse {
                item_id,
                seq,
                response,
                saved_at,
            })
            .collect())
    }

    /// The objective scores of an attempt, by item id.
    pub async fn item_scores(&self, attempt_id: &str) -> Result<Vec<StoredScore>, StorageError> {
        let rows: Vec<(String, Option<i64>, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT item_id, score_hundredths, max_hundredths FROM item_scores WHERE attempt_id = $1 ORDER BY item_id")
                .bind(attempt_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(item_id, score, max)| StoredScore {
                item_id,
                score,
                max,
            })
            .collect())
    }

    /// Writes a batch of saves in ONE transaction and says what became of each, in order.
    /// Only a save whose attempt is `in_progress` and that arrived by `deadline + grace_ms` is
    /// written; of several saves of one item, the highest seq is kept. When this returns `Ok`,
    /// every `Stored` outcome is committed.
    pub async fn save_batch(
        &self,
        saves: &[Save],
        grace_ms: i64,
    ) -> Result<Vec<SaveOutcome>, StorageError> {
        Ok(self.write_batch(saves, &[], &[], grace_ms).await?.saves)
    }

    /// Closes an attempt (see [`Storage::write_batch`]). Only one caller ever closes an
    /// attempt: the status change is the claim.
    pub async fn close_attempt(
        &self,
        close: &Close,
        grace_ms: i64,
    ) -> Result<CloseOutcome, StorageError> {
        self.write_batch(&[], std::slice::from_ref(close), &[], grace_ms)
            .await?
            .closes
            .pop()
            .ok_or_else(|| StorageError::Corrupt("a close without an outcome".to_owned()))
    }

    /// Writes saves, closes attempts and records grading-pass scores in ONE transaction
    /// (group commit): first the saves, as [`Storage::save_batch`] says, then each close in
    /// order: a submit is accepted until `deadline + grace_ms` (after that the attempt is
    /// closed as expired at its deadline); the sweeper's expiry only after it. Then the scores
    /// of closed attempts, each recorded once (`graded_at` is the claim). On PostgreSQL every
    /// attempt touched is locked first, in id order, so concurrent writers never wait on each
    /// other crosswise.
    pub async fn write_batch(
        &self,
        saves: &[Save],
        closes: &[Close],
        grades: &[AttemptScores],
        grace_ms: i64,
    ) -> Result<BatchOutcome, StorageError> {
        if saves.is_empty() && closes.is_empty() && grades.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let (unique, winner) = deduplicate(saves);
        // A fixed order of rows keeps two PostgreSQL writers from locking rows crosswise.
        let mut order: Vec<usize> = (0..unique.len()).collect();
        order.sort_by(|&a, &b| {
            (&unique[a].attempt_id, &unique[a].item_id)
                .cmp(&(&unique[b].attempt_id, &unique[b].item_id))
        });
        let sorted: Vec<&Save> = order.iter().map(|&index| unique[index]).collect();
        let attempt_ids: Vec<String> = sorted
            .iter()
            .map(|save| save.attempt_id.clone())
            .chain(closes.iter().map(|close| close.attempt_id.clone()))
            .chain(grades.iter().map(|grade| grade.attempt_id.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (written, refused, kept, closed, graded) = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Storage::Postgres(_) = self {
                let mut ids: &[String] = &attempt_ids;
                while !ids.is_empty() {
                    let (chunk, tail) = ids.split_at(chunk_size(ids.len()));
                    ids = tail;
                    let sql = format!(
                        "SELECT id FROM attempts WHERE id IN ({}) ORDER BY id FOR UPDATE",
                        placeholders(1, chunk.len())
                    );
                    let mut query = sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(&mut *tx).await?;
                }
            }
            let mut written: HashMap<(String, String), i64> = HashMap::with_capacity(sorted.len());
            let mut rest: &[&Save] = &sorted;
            while !rest.is_empty() {
                let size = chunk_size(rest.len());
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let sql = upsert_sql(size);
                let mut query = sqlx::query_as::<_, (String, String, i64)>(&sql);
                for save in chunk {
                    query = query
                        .bind(&save.attempt_id)
                        .bind(&save.item_id)
                        .bind(save.seq)
                        .bind(&save.response)
                        .bind(save.received_at)
                        .bind(save.received_at);
                }
                for (attempt, item, seq) in query.bind(grace_ms).fetch_all(&mut *tx).await? {
                    written.insert((attempt, item), seq);
                }
            }
            // The rare saves not written: their attempt is not open, or a newer seq is stored.
            let mut refused: HashMap<String, Option<(String, i64)>> = HashMap::new();
            let mut kept: HashMap<(String, String), i64> = HashMap::new();
            for save in &sorted {
                let key = (save.attempt_id.clone(), save.item_id.clone());
                if written.contains_key(&key) {
                    continue;
                }
                if !refused.contains_key(&save.attempt_id) {
                    let status: Option<(String, i64)> =
                        sqlx::query_as("SELECT status, deadline FROM attempts WHERE id = $1")
                            .bind(&save.attempt_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    refused.insert(save.attempt_id.clone(), status);
                }
                let open_in_time = matches!(
                    refused.get(&save.attempt_id),
                    Some(Some((status, deadline)))
                        if status == "in_progress" && save.received_at <= deadline + grace_ms
                );
                if open_in_time {
                    let stored: Option<(i64,)> = sqlx::query_as(
                        "SELECT seq FROM responses WHERE attempt_id = $1 AND item_id = $2",
                    )
                    .bind(&save.attempt_id)
                    .bind(&save.item_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((seq,)) = stored {
                        kept.insert(key, seq);
                    }
                }
            }
            let mut closed = Vec::with_capacity(closes.len());
            for close in closes {
                closed.push(close_in!(tx, close, grace_ms));
            }
            let mut graded = Vec::with_capacity(grades.len());
            for grade in grades {
                graded.push(grade_in!(tx, grade));
            }
            tx.commit().await?;
            (written, refused, kept, closed, graded)
        });
        let unique_outcomes: Vec<SaveOutcome> = unique
            .iter()
            .map(|save| {
                let key = (save.attempt_id.clone(), save.item_id.clone());
                if let Some(&seq) = written.get(&key).or_else(|| kept.get(&key)) {
                    return SaveOutcome::Stored { seq };
                }
                match refused.get(&save.attempt_id) {
                    None | Some(None) => SaveOutcome::NoAttempt,
                    Some(Some((status, deadline))) => match status.as_str() {
                        "paused" => SaveOutcome::Paused,
                        "expired" => SaveOutcome::DeadlinePassed,
                        "in_progress" if save.received_at > deadline + grace_ms => {
                            SaveOutcome::DeadlinePassed
                        }
                        // Open and in time, yet neither written nor stored: cannot happen
                        // (a refused lower seq means a row exists); answer as unknown.
                        "in_progress" => SaveOutcome::NoAttempt,
                        _ => SaveOutcome::Closed,
                    },
                }
            })
            .collect();
        Ok(BatchOutcome {
            saves: winner.into_iter().map(|at| unique_outcomes[at]).collect(),
            closes: closed,
            grades: graded,
        })
    }

    /// Closed attempts (submitted or expired) that the grading pass has not scored yet, the
    /// earliest closed first, at most `limit`.
    pub async fn ungraded_attempts(
        &self,
        limit: i64,
    ) -> Result<Vec<UngradedAttempt>, StorageError> {
        let rows: Vec<(String, String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, sitting_id, bank_version_id, paper FROM attempts \
                 WHERE graded_at IS NULL AND status IN ('submitted', 'expired') \
                 ORDER BY finished_at, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, sitting_id, bank_version_id, paper)| UngradedAttempt {
                id,
                sitting_id,
                bank_version_id,
                paper,
            })
            .collect())
    }

    /// The saved responses of several attempts, by attempt id (attempts without any are
    /// missing from the map).
    pub async fn responses_of(
        &self,
        attempt_ids: &[String],
    ) -> Result<HashMap<String, Vec<StoredResponse>>, StorageError> {
        let mut found: HashMap<String, Vec<StoredResponse>> = HashMap::new();
        let mut ids: &[String] = attempt_ids;
        while !ids.is_empty() {
            let (chunk, tail) = ids.split_at(chunk_size(ids.len()));
            ids = tail;
            let sql = format!(
                "SELECT attempt_id, item_id, seq, response, saved_at FROM responses WHERE attempt_id IN ({}) ORDER BY attempt_id, item_id",
                placeholders(1, chunk.len())
            );
            let rows: Vec<(String, String, i64, String, i64)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await?
            });
            for (attempt_id, item_id, seq, response, saved_at) in rows {
                found.entry(attempt_id).or_default().push(StoredResponse {
                    item_id,
                    seq,
                    response,
                    saved_at,
                });
            }
        }
        Ok(found)
    }

    /// Attempts still `in_progress` whose deadline plus the grace is before `now`, oldest
    /// deadline first, at most `limit`: the sweeper's work list (each is then claimed by
    /// [`Storage::close_attempt`]).
    pub async fn attempts_due(
        &self,
        now: i64,
        grace_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, bank_version_id FROM attempts WHERE status = 'in_progress' AND deadline < $1 - $2 ORDER BY deadline LIMIT $3",
            )
            .bind(now)
            .bind(grace_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Pauses a running attempt (not after its deadline). Returns the attempt afterwards, or
    /// `None` when it was not running before its deadline.
    pub async fn pause_attempt(
        &self,
        id: &str,
        adjustment: &TimeAdjustment,
        audit: &AuditEntry,
    ) -> Result<Option<Attempt>, StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE attempts SET status = 'paused', paused_at = $2 WHERE id = $1 AND status = 'in_progress' AND $2 <= deadline",
            )
            .bind(id)
            .bind(adjustment.at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO time_adjustments (id, registration_id, attempt_id, kind, amount, reason, actor, at) \
                 SELECT $1, registration_id, id, 'pause', 0, $2, $3, $4 FROM attempts WHERE id = $5",
            )
            .bind(&adjustment.id)
            .bind(&adjustment.reason)
            .bind(&adjustment.actor)
            .bind(adjustment.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        self.attempt(id).await
    }

    /// Resumes a paused attempt: the deadline moves by the time it was paused. Returns the
    /// attempt afterwards, or `None` when it was not paused.
    pub async fn resume_attempt(
        &self,
        id: &str,
        adjustment: &TimeAdjustment,
        audit: &AuditEntry,
    ) -> Result<Option<Attempt>, StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The write comes first so SQLite takes its lock before reading `paused_at`.
            let logged = sqlx::query(
                "INSERT INTO time_adjustments (id, registration_id, attempt_id, kind, amount, reason, actor, at) \
                 SELECT $1, registration_id, id, 'resume', \
                        CASE WHEN $4 > paused_at THEN $4 - paused_at ELSE 0 END, $2, $3, $4 \
                 FROM attempts WHERE id = $5 AND status = 'paused' AND paused_at IS NOT NULL",
            )
            .bind(&adjustment.id)
            .bind(&adjustment.reason)
            .bind(&adjustment.actor)
            .bind(adjustment.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if logged.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE attempts SET status = 'in_progress', \
                        deadline = deadline + (CASE WHEN $2 > paused_at THEN $2 - paused_at ELSE 0 END), \
                        paused_at = NULL \
                 WHERE id = $1 AND status = 'paused'",
            )
            .bind(id)
            .bind(adjustment.at)
            .execute(&mut *tx)
            .await?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        self.attempt(id).await
    }

    /// Grants `seconds` of extra time to a registration: added to its `extra_time_secs`
    /// (counted at start) and, when its attempt is running or paused, to the deadline.
    /// Returns `false` when the registration does not exist or its attempt has closed.
    pub async fn grant_extra_time(
        &self,
        registration_id: &str,
        seconds: i64,
        adjustment: &TimeAdjustment,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE registrations SET extra_time_secs = extra_time_secs + $2 WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM attempts WHERE registration_id = $1 AND status IN ('submitted', 'expired', 'terminated'))",
            )
            .bind(registration_id)
            .bind(seconds)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE attempts SET deadline = deadline + $2 WHERE registration_id = $1 AND status IN ('in_progress', 'paused')",
            )
            .bind(registration_id)
            .bind(seconds.saturating_mul(1000))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO time_adjustments (id, registration_id, attempt_id, kind, amount, reason, actor, at) \
                 VALUES ($1, $2, (SELECT id FROM attempts WHERE registration_id = $2), 'extra_time', $3, $4, $5, $6)",
            )
            .bind(&adjustment.id)
            .bind(registration_id)
            .bind(seconds)
            .bind(&adjustment.reason)
            .bind(&adjustment.actor)
            .bind(adjustment.at)
            .execute(&mut *tx)
            .await?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(attempt: &str, item: &str, seq: i64) -> Save {
        Save {
            attempt_id: attempt.to_owned(),
            item_id: item.to_owned(),
            seq,
            response: "null".to_owned(),
            received_at: 0,
        }
    }

    #[test]
    fn deduplication_keeps_the_highest_seq_per_item_and_maps_every_save_to_it() {
        let saves = [
            save("a", "i1", 3),
            save("a", "i2", 1),
            save("a", "i1", 5),
            save("b", "i1", 2),
            save("a", "i1", 4),
        ];
        let (unique, winner) = deduplicate(&saves);
        assert_eq!(unique.len(), 3);
        assert_eq!(unique[0].seq, 5);
        assert_eq!(winner, vec![0, 1, 0, 2, 0]);
    }

    #[test]
    fn chunks_are_powers_of_two_up_to_the_maximum() {
        assert_eq!(chunk_size(1), 1);
        assert_eq!(chunk_size(3), 2);
        assert_eq!(chunk_size(100), 64);
        assert_eq!(chunk_size(128), 128);
        assert_eq!(chunk_size(1000), 128);
    }

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
    }
}
