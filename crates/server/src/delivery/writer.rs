//! Group commit of answer saves.
//!
//! Every save, and every submit, goes through one channel to a writer task. The task takes
//! whatever is queued (up to [`MAX_BATCH`]), writes it in ONE transaction
//! ([`Storage::write_batch`]: saves first, then the closes with their grading; SQLite with
//! `synchronous=FULL`, or a PostgreSQL commit), and only after the commit answers each request
//! through its oneshot. One fsync then covers hundreds of saves: SQLite manages a few
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

use crate::storage::delivery::{Close, CloseOutcome, Save, SaveOutcome};
use crate::storage::{Storage, StorageError};

/// Most saves written in one transaction.
pub const MAX_BATCH: usize = 1_000;
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
}

/// A handle for sending saves to the writer tasks; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<Job>,
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
        let receiver = Arc::new(Mutex::new(receiver));
        let handles = (0..workers.max(1))
            .map(|_| {
                let storage = storage.clone();
                let receiver = Arc::clone(&receiver);
                tokio::spawn(async move { run(storage, grace_ms, receiver).await })
            })
            .collect();
        (Writer { sender }, WriterTasks { handles })
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

    /// Queues the closing of an attempt (submit or expiry, with its grading) and waits until
    /// it is durable.
    pub async fn close(&self, close: Close) -> Result<CloseOutcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job::Close { close, reply })
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

async fn run(storage: Storage, grace_ms: i64, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
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
    for job in batch.iter() {
        match job {
            Job::Save { save, .. } => saves.push(save.clone()),
            Job::Close { close, .. } => closes.push(close.clone()),
        }
    }
    let mut result = storage.write_batch(&saves, &closes, grace_ms).await;
    if let Err(error) = &result {
        if retryable(error) {
            tracing::warn!(%error, saves = saves.len(), closes = closes.len(), "retrying a failed batch");
            tokio::time::sleep(RETRY_AFTER).await;
            result = storage.write_batch(&saves, &closes, grace_ms).await;
        }
    }
    match result {
        Ok((saved, closed)) => {
            let (mut saved, mut closed) = (saved.into_iter(), closed.into_iter());
            for job in batch.drain(..) {
                match job {
                    Job::Save { reply, .. } => {
                        let outcome = saved.next().ok_or_else(|| {
                            WriteError::Failed("a save without an outcome".to_owned())
                        });
                        let _ = reply.send(outcome);
                    }
                    Job::Close { reply, .. } => {
                        let outcome = closed.next().ok_or_else(|| {
                            WriteError::Failed("a close without an outcome".to_owned())
                        });
                        let _ = reply.send(outcome);
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, saves = saves.len(), closes = closes.len(), "a batch failed; nothing in it is acknowledged");
            let text = error.to_string();
            for job in batch.drain(..) {
                match job {
                    Job::Save { reply, .. } => {
                        let _ = reply.send(Err(WriteError::Failed(text.clone())));
                    }
                    Job::Close { reply, .. } => {
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
