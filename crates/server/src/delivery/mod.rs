//! Timed exam delivery: drawing a candidate's paper, saving answers without loss, the
//! server-owned clock, closing attempts and grading them.
//!
//! - [`paper`]: the drawn paper as stored, and the candidate's view of it (relabelled options,
//!   sanitized HTML, never a key).
//! - [`draws`]: a sitting's papers, drawn once for the whole sitting under the blueprint's
//!   exposure cap and stored, so every replica hands out the same paper; latecomers drawn
//!   against the stored exposure counts.
//! - [`writer`]: group commit: every save goes through one writer task that commits batches
//!   and acknowledges a save only after its batch's commit.
//! - [`sweeper`]: closes attempts whose deadline (plus the grace) has passed, at their deadline;
//!   safe when every replica runs it.
//! - [`scoring`]: the grading pass: objective scores of closed attempts, after the close (a
//!   submit is acknowledged once the close is durable), through the writer's low-priority lane.
//! - [`grading`]: pure objective grading.
//!
//! Time rules (docs/OPERATIONS.md, "Delivery"): the server's clock is the only clock. At start
//! `deadline = min(start + duration + extra time granted so far, window close)`. A pause stops
//! the clock and resuming moves the deadline by the paused time; extra time granted after the
//! start moves the deadline too; both may carry it past the window close. Saves are accepted
//! until `deadline + GRACE` (network slack), measured when the request reaches the server.

pub(crate) mod draws;
pub(crate) mod grading;
pub(crate) mod paper;
pub(crate) mod scoring;
pub(crate) mod sweeper;
pub mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use xcert_bank::Bank;

use crate::storage::delivery::StoredResponse;
use grading::{Outcome, Question};
use paper::{DrawnPaper, PaperSource};

pub use writer::{MAX_BATCH, WriteError, Writer, WriterTasks};

/// Network slack after the deadline during which saves and a submit are still accepted, ms.
/// With the sweeper's 1 s period an attempt is closed within about 4 s of its deadline.
pub const GRACE_MS: i64 = 3_000;

/// How many writer tasks to run: SQLite has one writer at a time anyway; PostgreSQL commits
/// several batches in parallel.
pub(crate) fn writer_count(storage: &crate::storage::Storage) -> usize {
    match storage {
        crate::storage::Storage::Sqlite(_) => 1,
        crate::storage::Storage::Postgres(_) => 4,
    }
}

/// Delivery's shared state in the server.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// The group-commit writer.
    pub(crate) writer: Writer,
    /// Paper sources per sitting (bank version + blueprint never change for a sitting).
    sittings: Mutex<HashMap<String, Arc<SittingPapers>>>,
    /// Woken by every close, so the grading pass starts at once.
    pub(crate) closed: tokio::sync::Notify,
    /// Papers of started attempts, by attempt id. A paper never changes once its attempt
    /// exists, so a save checks its item against this instead of reading and parsing the
    /// paper from the database every time.
    attempt_papers: Mutex<HashMap<String, Arc<AttemptPaper>>>,
}

/// Attempts whose papers are kept; past this the cache starts over (about 5 KB a paper).
const ATTEMPT_PAPER_CACHE: usize = 65_536;

/// A started attempt's paper and owner, as a save needs them.
#[derive(Debug)]
pub(crate) struct AttemptPaper {
    /// The registration the attempt belongs to (the only candidate who may save into it).
    pub(crate) registration_id: String,
    /// The drawn paper.
    pub(crate) paper: DrawnPaper,
}

/// Sittings whose papers are kept; past this the cache starts over.
const SITTING_CACHE: usize = 64;

/// A sitting's compiled paper source, and the papers this process drew and stored for it.
///
/// The sitting's papers are drawn once for the whole sitting and stored ([`draws`]); the
/// process that stored them keeps them here too, so its starts skip even the one-row read.
/// `filled` is set once this process knows the sitting's draw is stored (by it or by another
/// replica), so later starts go straight to the registration's stored paper.
#[derive(Debug)]
pub(crate) struct SittingPapers {
    pub(crate) source: PaperSource,
    drawn: Mutex<HashMap<String, DrawnPaper>>,
    pub(crate) filled: tokio::sync::OnceCell<()>,
}

impl SittingPapers {
    pub(crate) fn new(source: PaperSource) -> Self {
        Self {
            source,
            drawn: Mutex::new(HashMap::new()),
            filled: tokio::sync::OnceCell::new(),
        }
    }

    /// Keeps papers this process drew and stored, by registration id.
    pub(crate) fn keep(&self, papers: impl IntoIterator<Item = (String, DrawnPaper)>) {
        self.drawn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(papers);
    }

    /// Takes the kept paper of a registration (it is stored with the attempt next).
    pub(crate) fn take(&self, registration_id: &str) -> Option<DrawnPaper> {
        self.drawn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(registration_id)
    }
}

impl Delivery {
    pub(crate) fn new(writer: Writer) -> Self {
        Self {
            writer,
            sittings: Mutex::new(HashMap::new()),
            closed: tokio::sync::Notify::new(),
            attempt_papers: Mutex::new(HashMap::new()),
        }
    }

    /// The paper and owner of an attempt, from memory or else the database; `None` when no
    /// such attempt exists.
    pub(crate) async fn attempt_paper(
        &self,
        storage: &crate::storage::Storage,
        attempt_id: &str,
    ) -> Result<Option<Arc<AttemptPaper>>, crate::error::AppError> {
        let cached = self
            .attempt_papers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(attempt_id)
            .cloned();
        if let Some(found) = cached {
            return Ok(Some(found));
        }
        let Some((registration_id, paper)) = storage.attempt_paper(attempt_id).await? else {
            return Ok(None);
        };
        let found = Arc::new(AttemptPaper {
            registration_id,
            paper: parse_paper(&paper)?,
        });
        let mut papers = self
            .attempt_papers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if papers.len() >= ATTEMPT_PAPER_CACHE {
            papers.clear();
        }
        papers.insert(attempt_id.to_owned(), Arc::clone(&found));
        Ok(Some(found))
    }

    /// The papers of a sitting, if cached.
    pub(crate) fn sitting(&self, sitting_id: &str) -> Option<Arc<SittingPapers>> {
        self.sittings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sitting_id)
            .cloned()
    }

    /// Caches the papers of a sitting; when another request cached them first, theirs stand.
    pub(crate) fn keep_sitting(
        &self,
        sitting_id: &str,
        papers: Arc<SittingPapers>,
    ) -> Arc<SittingPapers> {
        let mut sittings = self.sittings.lock().unwrap_or_else(PoisonError::into_inner);
        if sittings.len() >= SITTING_CACHE && !sittings.contains_key(sitting_id) {
            sittings.clear();
        }
        Arc::clone(sittings.entry(sitting_id.to_owned()).or_insert(papers))
    }
}

/// Grades every item of `paper` from the saved `responses`: `(item id, score or None for
/// manual grading, points)`, in paper order. An item missing from the bank (which cannot
/// happen for a pinned version) scores 0.
pub(crate) fn grade_paper(
    paper: &DrawnPaper,
    bank: &Bank,
    responses: &[StoredResponse],
) -> Vec<(String, Option<u32>, u32)> {
    let saved: HashMap<&str, serde_json::Value> = responses
        .iter()
        .filter_map(|stored| {
            serde_json::from_str(&stored.response)
                .ok()
                .map(|value| (stored.item_id.as_str(), value))
        })
        .collect();
    paper
        .items()
        .map(|(section, drawn)| {
            let item = bank.item(&drawn.id);
            let item_type = drawn
                .item_type()
                .or_else(|| item.map(xcert_bank::Item::item_type));
            let outcome = match item_type {
                Some(item_type) => grading::grade(
                    &Question {
                        item_type,
                        answer: item.and_then(xcert_bank::Item::answer),
                        shown_options: &drawn.options,
                        points: drawn.points,
                        multiple_scoring: section.scoring(),
                    },
                    saved.get(drawn.id.as_str()),
                ),
                None => Outcome::Graded(0),
            };
            let score = match outcome {
                Outcome::Graded(score) => Some(score),
                Outcome::NeedsManual => None,
            };
            (drawn.id.clone(), score, drawn.points)
        })
        .collect()
}

/// Parses a stored paper; a row this version did not write is an internal error.
pub(crate) fn parse_paper(text: &str) -> Result<DrawnPaper, crate::error::AppError> {
    serde_json::from_str(text).map_err(|error| {
        crate::error::AppError::Internal(format!("a stored paper does not parse: {error}"))
    })
}

/// The server's clock in Unix milliseconds: the only clock delivery reads.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Unix milliseconds as RFC 3339 (UTC) with milliseconds, e.g. `2026-11-22T09:00:00.000Z`.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(time) => format!("{time:.3}"),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_with_milliseconds() {
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
