//! The auto-submit sweeper: every [`PERIOD`] it closes the attempts whose deadline plus the
//! grace has passed, as `expired` with `finished_at` = the deadline (not the sweeper's time),
//! then wakes the grading pass ([`super::scoring`]).
//!
//! Every replica may run it: the conditional `UPDATE ... WHERE status = 'in_progress' AND
//! deadline + grace < now` in [`Storage::write_batch`](crate::storage::Storage::write_batch)
//! is the claim, so an attempt is closed once.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{GRACE_MS, now_ms};
use crate::app::AppState;
use crate::error::AppError;
use crate::storage::delivery::{Close, CloseOutcome, Closing};

/// How often the sweeper looks for attempts to close.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);
/// Most attempts closed in one pass (the next pass takes the rest a period later).
const PASS_LIMIT: i64 = 2_000;

/// Starts the sweeper; it stops when `stop` changes or its sender is dropped.
pub(crate) fn start(state: AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(error) = sweep(&state, now_ms()).await {
                tracing::error!(%error, "the auto-submit sweeper failed a pass; retrying next period");
            }
        }
    })
}

/// One pass: closes and grades every attempt due at `now`, all through the answer writer so
/// that many closes share a transaction; returns how many this replica closed.
pub(crate) async fn sweep(state: &AppState, now: i64) -> Result<usize, AppError> {
    let due = state
        .storage
        .attempts_due(now, GRACE_MS, PASS_LIMIT)
        .await?;
    let mut closes = tokio::task::JoinSet::new();
    for (attempt_id, _) in due {
        let writer = state.delivery.writer.clone();
        closes.spawn(async move {
            writer
                .close(Close {
                    attempt_id,
                    closing: Closing::Expire,
                    now,
                })
                .await
        });
    }
    let mut closed = 0;
    let wake = !closes.is_empty();
    let mut failure = None;
    while let Some(done) = closes.join_next().await {
        match done {
            Ok(Ok(CloseOutcome::Closed(_))) => closed += 1,
            Ok(Ok(_)) => {}
            Ok(Err(error)) => failure = Some(error.to_string()),
            Err(error) => failure = Some(error.to_string()),
        }
    }
    match failure {
        Some(text) => Err(AppError::Internal(format!(
            "closing expired attempts: {text}"
        ))),
        None => {
            if wake {
                state.delivery.closed.notify_one();
            }
            Ok(closed)
        }
    }
}
