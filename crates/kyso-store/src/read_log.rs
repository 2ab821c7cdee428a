//! Audit entries of sensitive reads, written off the readers' path (issue 15 item 10).
//!
//! A read used to append its entry in a write transaction of its own: every read took the
//! store's one write lock (and held a pooled connection while queueing for it), so a read
//! load made every write wait. Now a read hands its entry to a bounded in-process queue and
//! one writer task appends whatever is queued in one write transaction per batch (group
//! commit), through [`crate::audit::append`]: the keyed chain, its gapless sequence and the
//! entry's agency are exactly those of an entry appended alone.
//!
//! **The guarantee (fail closed).** [`ReadLog::record`] returns only when the transaction
//! holding the entry has committed (SQLite `synchronous = FULL`, PostgreSQL commit), and the
//! callers show nothing of the record before it returns `Ok`. A full queue (for longer than
//! [`QUEUE_WAIT`]), a writer that has stopped or a batch that fails to commit gives
//! [`Error::AuditUnavailable`] to every read in it, and those reads are not served. So a read
//! that was answered is in the log; a crash (even `kill -9` or a power cut) can lose only the
//! entries of reads that had not been answered yet (queued, or in a batch not yet
//! committed). A read whose caller went away while waiting may still be logged: the log can
//! hold a read that was never shown, never the reverse.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{self, Event};
use crate::{Actor, Error, Result, Store};

/// Entries the queue holds before readers wait for room.
pub const QUEUE_CAPACITY: usize = 4096;
/// Entries appended in one write transaction at most.
pub const MAX_BATCH: usize = 256;
/// How long a read waits for room in a full queue before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(30);

/// One queued entry and where its outcome goes.
struct Pending {
    actor: Actor,
    action: String,
    object: String,
    agency: Option<String>,
    at: OffsetDateTime,
    done: oneshot::Sender<std::result::Result<i64, ()>>,
}

/// The queue of a store; its writer task starts with the first read.
#[derive(Debug, Default)]
pub(crate) struct ReadLogCell(OnceLock<ReadLog>);

/// The sending side of the queue.
#[derive(Debug)]
pub(crate) struct ReadLog {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("action", &self.action)
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

impl ReadLogCell {
    /// The queue, starting its writer on the current tokio runtime the first time. The
    /// writer owns a copy of the store without the queue, so it ends when the last store
    /// sharing this queue is dropped.
    pub(crate) fn get(&self, store: &Store) -> &ReadLog {
        self.0.get_or_init(|| {
            let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
            let writer = Store {
                reads: Arc::new(ReadLogCell::default()),
                ..store.clone()
            };
            tokio::spawn(write_batches(writer, rx));
            ReadLog { queue }
        })
    }

    /// Entries waiting to be written (0 before the first read).
    pub(crate) fn depth(&self) -> usize {
        self.0
            .get()
            .map(|l| l.queue.max_capacity() - l.queue.capacity())
            .unwrap_or(0)
    }
}

impl ReadLog {
    /// Queue one entry and wait until the transaction holding it has committed; its
    /// sequence number. Fails closed (see the module's documentation).
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        event: Event<'_>,
        now: OffsetDateTime,
    ) -> Result<i64> {
        let (done, outcome) = oneshot::channel();
        let pending = Pending {
            actor: actor.clone(),
            action: event.action.to_owned(),
            object: event.object,
            agency: event.agency,
            at: now,
            done,
        };
        match tokio::time::timeout(QUEUE_WAIT, self.queue.send(pending)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                tracing::error!("the audit writer of reads has stopped");
                return Err(Error::AuditUnavailable);
            }
            Err(_) => {
                tracing::error!("the audit queue of reads stayed full for {QUEUE_WAIT:?}");
                return Err(Error::AuditUnavailable);
            }
        }
        match outcome.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(())) | Err(_) => Err(Error::AuditUnavailable),
        }
    }
}

/// The writer: one write transaction per batch of what is queued, every reader of the batch
/// told the outcome after the commit.
async fn write_batches(store: Store, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match append_all(&store, &batch).await {
            Ok(first) => {
                for (i, p) in batch.drain(..).enumerate() {
                    let _ = p.done.send(Ok(first + i as i64));
                }
            }
            Err(e) => {
                tracing::error!(
                    entries = batch.len(),
                    "audit entries of reads not written: {e}"
                );
                for p in batch.drain(..) {
                    let _ = p.done.send(Err(()));
                }
            }
        }
    }
}

/// Append `batch` in one write transaction; the sequence number of its first entry.
async fn append_all(store: &Store, batch: &[Pending]) -> Result<i64> {
    // Only entries, each naming its own reader.
    let mut tx = store
        .begin_write(&crate::Actor::system(), crate::On::AuditLog)
        .await?;
    let mut first = None;
    for p in batch {
        let seq = audit::append(
            &mut tx,
            &p.actor,
            Event {
                action: &p.action,
                object: p.object.clone(),
                agency: p.agency.clone(),
                detail: serde_json::json!({}),
            },
            p.at,
        )
        .await?;
        first.get_or_insert(seq);
    }
    tx.commit().await?;
    Ok(first.unwrap_or(0))
}
