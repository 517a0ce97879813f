//! The grading pass: objective scores for closed attempts, after their close.
//!
//! A submit (or the sweeper's expiry) is acknowledged as soon as the attempt's status and
//! finish time are durable; grading its paper waits for this pass, so a submit rush costs one
//! short `UPDATE` per candidate in the writer's batches instead of a paper's worth of reads,
//! grading and inserts, and the rush's last saves do not queue behind the grading. The pass
//! runs in every replica, woken by each close and every [`PERIOD`]; it reads closed attempts
//! without `graded_at`, grades them ([`super::grade_paper`], pure) and hands the scores to the
//! writer's low-priority lane, which records each attempt's scores once (`graded_at` is the
//! claim), so two replicas grading the same attempt write it once. Result publication grades
//! what is still pending for its sitting inside its own transaction, so it never ranks an
//! attempt without scores. The pass holds back while a submit rush fills the writer's queue.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{grade_paper, now_ms, parse_paper};
use crate::app::AppState;
use crate::error::AppError;
use crate::storage::delivery::AttemptScores;

/// How often the pass looks for closed attempts without scores when nothing woke it.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);
/// Attempts read and graded per round.
const ROUND: i64 = 256;
/// The pass waits while more saves and closes than this queue for the writer (a submit rush):
/// its reads and grading would take CPU from them, and nothing is urgent about scores.
const BUSY_BACKLOG: usize = 128;
/// How long it waits before looking again.
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Starts the pass; it ends when `stop` turns true.
pub(crate) fn start(state: AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = state.delivery.closed.notified() => {}
                _ = stop.changed() => return,
            }
            // Stopping mid-pass loses nothing: what is not recorded is graded after a restart.
            tokio::select! {
                graded = grade_pending(&state) => {
                    if let Err(error) = graded {
                        tracing::error!(%error, "the grading pass failed; retrying next period");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    })
}

/// Grades every closed attempt without scores, round by round, until none is left; each round
/// starts only while the writer's backlog is small. Returns how many this call recorded. An
/// attempt whose stored paper or bank cannot be read is an error (after the others of its
/// round are graded).
async fn grade_pending(state: &AppState) -> Result<usize, AppError> {
    let mut recorded = 0;
    loop {
        while state.delivery.writer.backlog() > BUSY_BACKLOG {
            tokio::time::sleep(BUSY_PAUSE).await;
        }
        let (graded, more) = grade_round(state).await?;
        recorded += graded;
        if !more {
            return Ok(recorded);
        }
    }
}

/// One round: up to [`ROUND`] closed attempts without scores; returns how many this call
/// recorded and whether more may be waiting.
async fn grade_round(state: &AppState) -> Result<(usize, bool), AppError> {
    let mut recorded = 0;
    let round = state.storage.ungraded_attempts(ROUND).await?;
    if round.is_empty() {
        return Ok((0, false));
    }
    let full = round.len() == usize::try_from(ROUND).unwrap_or(usize::MAX);
    let ids: Vec<String> = round.iter().map(|attempt| attempt.id.clone()).collect();
    let mut responses = state.storage.responses_of(&ids).await?;
    let mut writes = tokio::task::JoinSet::new();
    let mut failure = None;
    for attempt in round {
        let graded = async {
            let bank = crate::banks::load_bank(state, &attempt.bank_version_id).await?;
            let paper = parse_paper(&attempt.paper)?;
            let saved = responses.remove(&attempt.id).unwrap_or_default();
            Ok::<_, AppError>(grade_paper(&paper, &bank, &saved))
        }
        .await;
        match graded {
            Ok(scores) => {
                let writer = state.delivery.writer.clone();
                let grade = AttemptScores {
                    attempt_id: attempt.id,
                    scores,
                    graded_at: now_ms(),
                };
                writes.spawn(async move { writer.grade(grade).await });
            }
            Err(error) => {
                tracing::error!(%error, attempt = %attempt.id, "a closed attempt cannot be graded");
                failure = Some(format!("attempt {}: {error}", attempt.id));
            }
        }
    }
    while let Some(done) = writes.join_next().await {
        match done {
            Ok(Ok(true)) => recorded += 1,
            Ok(Ok(false)) => {}
            Ok(Err(error)) => failure = Some(error.to_string()),
            Err(error) => failure = Some(error.to_string()),
        }
    }
    if let Some(text) = failure {
        return Err(AppError::Internal(format!(
            "grading closed attempts: {text}"
        )));
    }
    Ok((recorded, full))
}
