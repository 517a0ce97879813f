//! Timed exam delivery: drawing a candidate's paper, saving answers without loss, the
//! server-owned clock, closing attempts and grading them.
//!
//! - [`paper`]: the drawn paper as stored, and the candidate's view of it (relabelled options,
//!   sanitized HTML, never a key).
//! - [`writer`]: group commit: every save goes through one writer task that commits batches
//!   and acknowledges a save only after its batch's commit.
//! - [`sweeper`]: closes attempts whose deadline (plus the grace) has passed, at their deadline,
//!   and grades them; safe when every replica runs it.
//! - [`grading`]: pure objective grading.
//!
//! Time rules (docs/OPERATIONS.md, "Delivery"): the server's clock is the only clock. At start
//! `deadline = min(start + duration + extra time granted so far, window close)`. A pause stops
//! the clock and resuming moves the deadline by the paused time; extra time granted after the
//! start moves the deadline too; both may carry it past the window close. Saves are accepted
//! until `deadline + GRACE` (network slack), measured when the request reaches the server.

pub(crate) mod grading;
pub(crate) mod paper;
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
    /// Compiled paper sources per sitting (bank version + blueprint never change for a sitting).
    sources: Mutex<HashMap<String, Arc<PaperSource>>>,
}

/// Sittings whose compiled sources are kept; past this the cache starts over.
const SOURCE_CACHE: usize = 64;

impl Delivery {
    pub(crate) fn new(writer: Writer) -> Self {
        Self {
            writer,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// The compiled paper source of a sitting, if cached.
    pub(crate) fn source(&self, sitting_id: &str) -> Option<Arc<PaperSource>> {
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sitting_id)
            .cloned()
    }

    /// Caches the compiled paper source of a sitting.
    pub(crate) fn keep_source(&self, sitting_id: &str, source: Arc<PaperSource>) {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if sources.len() >= SOURCE_CACHE {
            sources.clear();
        }
        sources.insert(sitting_id.to_owned(), source);
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
