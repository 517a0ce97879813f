//! Group commit of answer saves.
//!
//! Every save, and every submit, goes through one channel to a writer task. The task takes
//! whatever is queued (up to [`MAX_BATCH`]), writes it in ONE transaction
//! ([`Storage::write_batch`]: saves first, then the closes; SQLite with `synchronous=FULL`, or
//! a PostgreSQL commit), and only after the commit answers each request through its oneshot.
//! The grading pass's scores come through a second, low-priority channel: a batch carries at
//! most [`MAX_GRADES`] of them, after everything waiting in the first channel, and only when
//! that was little ([`CALM_BATCH`]), so grading never slows the batches of a submit rush. One fsync then covers hundreds of saves: SQLite manages a few
//! thousand single-row durable transactions per second but hundreds of thousands of rows per
//! second in batches. While a batch commits, the next one queues, so batches grow with load
//! by themselves and a lone save is not delayed by any timer. Submits ride in the same batches,
//! so a submit rush costs a few transactions, not one fsync per candidate, and saves do not
//! queue behind a row of single-submit transactions.
//!
//! A failed batch is retried once (a busy database or a PostgreSQL deadlock victim), then
//! every request in it is answered with an error: nothing is acknowledged that is not on disk.
//! On PostgreSQL several writer tasks may run at once; SQLite has one writer anyway.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::storage::delivery::{AttemptScores, Close, CloseOutcome, Save, SaveOutcome};
use crate::storage::{Storage, StorageError};

/// Most saves written in one transaction.
pub const MAX_BATCH: usize = 1_000;
/// Most attempts' scores written in one batch (about 35 rows each).
pub const MAX_GRADES: usize = 16;
/// Scores join a batch only when it holds fewer saves and closes than this: under a rush
/// (a deep queue) batches carry saves and closes only, and the scores wait for calmer batches.
pub const CALM_BATCH: usize = 64;
/// Saves that may wait in the channel before a handler waits to enqueue (backpressure).
const QUEUE: usize = 65_536;
/// Pause before retrying a failed batch.
const RETRY_AFTER: Duration = Duration::from_millis(50);

/// Why a save was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The batch's transaction failed (twice); the save may not be on disk.
    #[error("the save could not be written: {0}")]
    Failed(String),
    /// The writer has stopped (the server is shutting down).
    #[error("the server is shutting down; retry the save")]
    Stopped,
}

enum Job {
    Save {
        save: Save,
        reply: oneshot::Sender<Result<SaveOutcome, WriteError>>,
    },
    Close {
        close: Close,
        reply: oneshot::Sender<Result<CloseOutcome, WriteError>>,
    },
    Grade {
        grade: AttemptScores,
        reply: oneshot::Sender<Result<bool, WriteError>>,
    },
}

/// A handle for sending saves to the writer tasks; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<Job>,
    grades: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("queued", &(QUEUE - self.sender.capacity()))
            .finish()
    }
}

/// The running writer tasks; [`WriterTasks::finish`] waits until every queued save is
/// written and answered.
#[derive(Debug)]
pub struct WriterTasks {
    handles: Vec<JoinHandle<()>>,
}

impl Writer {
    /// Starts `workers` writer tasks (at least one) over `storage`; saves are accepted until
    /// their attempt's deadline plus `grace_ms`.
    pub fn start(storage: &Storage, grace_ms: i64, workers: usize) -> (Writer, WriterTasks) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (grades, graded) = mpsc::channel(QUEUE);
        let receivers = Arc::new(Mutex::new(Receivers {
            urgent: receiver,
            grades: graded,
        }));
        let handles = (0..workers.max(1))
            .map(|_| {
                let storage = storage.clone();
                let receivers = Arc::clone(&receivers);
                tokio::spawn(async move { run(storage, grace_ms, receivers).await })
            })
            .collect();
        (Writer { sender, grades }, WriterTasks { handles })
    }

    /// Saves and closes waiting for a batch: the grading pass holds back while this is high.
    pub fn backlog(&self) -> usize {
        QUEUE - self.sender.capacity()
    }

    /// Queues a save and waits until it is durable (or refused, or failed).
    pub async fn save(&self, save: Save) -> Result<SaveOutcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job::Save { save, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Queues the closing of an attempt (submit or expiry) and waits until it is durable.
    pub async fn close(&self, close: Close) -> Result<CloseOutcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job::Close { close, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Queues the scores of a closed attempt (low priority: after every queued save and
    /// close) and waits until they are durable; `Ok(false)` when they were recorded before.
    pub async fn grade(&self, grade: AttemptScores) -> Result<bool, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.grades
            .send(Job::Grade { grade, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }
}

impl WriterTasks {
    /// Waits for the writer tasks to end, which they do once every [`Writer`] handle is
    /// dropped and the queue is drained, or until `limit` passes.
    pub async fn finish(self, limit: Duration) {
        let all = futures_join_all(self.handles);
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("the answer writer did not drain within {limit:?}");
        }
    }
}

async fn futures_join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}

struct Receivers {
    urgent: mpsc::Receiver<Job>,
    grades: mpsc::Receiver<Job>,
}

async fn run(storage: Storage, grace_ms: i64, receivers: Arc<Mutex<Receivers>>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH + MAX_GRADES);
    loop {
        {
            let mut receivers = receivers.lock().await;
            let Receivers { urgent, grades } = &mut *receivers;
            // Saves and closes first; scores only when nothing urgent is waiting.
            let first = tokio::select! {
                biased;
                job = urgent.recv() => job,
                job = grades.recv() => job,
            };
            let Some(first) = first else {
                // Both channels are closed only when every Writer handle is gone.
                return;
            };
            let mut graded = usize::from(matches!(first, Job::Grade { .. }));
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match urgent.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let calm = batch.len() - graded < CALM_BATCH;
            while calm && graded < MAX_GRADES {
                match grades.try_recv() {
                    Ok(job) => {
                        batch.push(job);
                        graded += 1;
                    }
                    Err(_) => break,
                }
            }
        }
        write(&storage, grace_ms, &mut batch).await;
    }
}

async fn write(storage: &Storage, grace_ms: i64, batch: &mut Vec<Job>) {
    let mut saves = Vec::new();
    let mut closes = Vec::new();
    let mut grades = Vec::new();
    for job in batch.iter() {
        match job {
            Job::Save { save, .. } => saves.push(save.clone()),
            Job::Close { close, .. } => closes.push(close.clone()),
            Job::Grade { grade, .. } => grades.push(grade.clone()),
        }
    }
    let mut result = storage
        .write_batch(&saves, &closes, &grades, grace_ms)
        .await;
    if let Err(error) = &result {
        if retryable(error) {
            tracing::warn!(%error, saves = saves.len(), closes = closes.len(), grades = grades.len(), "retrying a failed batch");
            tokio::time::sleep(RETRY_AFTER).await;
            result = storage
                .write_batch(&saves, &closes, &grades, grace_ms)
                .await;
        }
    }
    match result {
        Ok(outcome) => {
            let mut saved = outcome.saves.into_iter();
            let mut closed = outcome.closes.into_iter();
            let mut graded = outcome.grades.into_iter();
            let missing = |what: &str| WriteError::Failed(format!("a {what} without an outcome"));
            for job in batch.drain(..) {
                match job {
                    Job::Save { reply, .. } => {
                        let _ = reply.send(saved.next().ok_or_else(|| missing("save")));
                    }
                    Job::Close { reply, .. } => {
                        let _ = reply.send(closed.next().ok_or_else(|| missing("close")));
                    }
                    Job::Grade { reply, .. } => {
                        let _ = reply.send(graded.next().ok_or_else(|| missing("grade")));
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, saves = saves.len(), closes = closes.len(), grades = grades.len(), "a batch failed; nothing in it is acknowledged");
            let text = error.to_string();
            for job in batch.drain(..) {
                match job {
                    Job::Save { reply, .. } => {
                        let _ = reply.send(Err(WriteError::Failed(text.clone())));
                    }
                    Job::Close { reply, .. } => {
                        let _ = reply.send(Err(WriteError::Failed(text.clone())));
                    }
                    Job::Grade { reply, .. } => {
                        let _ = reply.send(Err(WriteError::Failed(text.clone())));
                    }
                }
            }
        }
    }
}

fn retryable(error: &StorageError) -> bool {
    matches!(
        error,
        StorageError::Database(
            sqlx::Error::Database(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)
        )
    )
}
