//! The single writer thread: group commit and compaction.
//!
//! One thread owns the read-write connection. It takes every write queued while the previous
//! transaction was committing and applies them in one transaction (one fsync per batch). Each write
//! still gets its own revision and its own result: a conflicting write fails alone and takes no
//! revision. Committed changes go to the watchers' broadcast before the writers are answered.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::row::{Latest, LogRow};
use super::schema::{sqlite_error, write_meta, Meta, WriterConnection};
use crate::{Error, Event, Result};

/// The most writes committed in one transaction, so one batch cannot delay its writers for long.
const MAX_BATCH: usize = 512;

/// How many revisions one compaction transaction processes before the writer serves writes again.
const COMPACTION_CHUNK: i64 = 4096;

/// A write as requested by a caller.
#[derive(Debug)]
pub(crate) enum WriteOp {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: i64,
    },
    Delete {
        key: String,
        expected: Option<i64>,
    },
}

/// What the writer thread is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Apply a write; answered with the change it made.
    Write {
        op: WriteOp,
        reply: oneshot::Sender<Result<Arc<Event>>>,
    },
    /// Compact to a revision; answered once the history below it is gone.
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Stop after the writes queued before this one; answered once the database is closed.
    Shutdown { reply: oneshot::Sender<()> },
}

/// State the writer shares with the store handles.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The revision of the last committed write.
    pub revision: AtomicI64,
    pub transactions: AtomicU64,
    pub writes: AtomicU64,
}

/// A compaction in progress: rows superseded at or below `target` are being removed; the next chunk
/// starts at revision `through`.
#[derive(Debug)]
struct Compaction {
    target: i64,
    through: i64,
    waiters: Vec<oneshot::Sender<Result<()>>>,
}

/// The writer thread's state.
#[derive(Debug)]
pub(crate) struct Writer {
    conn: Connection,
    path: PathBuf,
    meta: Meta,
    compaction: Option<Compaction>,
    shared: Arc<Shared>,
    events: broadcast::Sender<Arc<Event>>,
    _lock: std::fs::File,
}

impl Writer {
    /// A writer over an opened database; resumes a compaction a crash interrupted.
    pub fn new(
        opened: WriterConnection,
        path: PathBuf,
        shared: Arc<Shared>,
        events: broadcast::Sender<Arc<Event>>,
    ) -> Self {
        shared
            .revision
            .store(opened.meta.revision, Ordering::SeqCst);
        let compaction =
            (opened.meta.compacted_through < opened.meta.compact_revision).then(|| Compaction {
                target: opened.meta.compact_revision,
                through: opened.meta.compacted_through,
                waiters: Vec::new(),
            });
        Self {
            conn: opened.conn,
            path,
            meta: opened.meta,
            compaction,
            shared,
            events,
            _lock: opened.lock,
        }
    }

    /// Serves commands until shut down or every store handle is gone.
    pub fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let first = if self.compaction.is_some() {
                match commands.try_recv() {
                    Ok(command) => Some(command),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            } else {
                match commands.blocking_recv() {
                    Some(command) => Some(command),
                    None => return,
                }
            };
            if let Some(first) = first {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match commands.try_recv() {
                        Ok(command) => batch.push(command),
                        Err(_) => break,
                    }
                }
                if let Some(reply) = self.handle(&mut batch) {
                    commands.close();
                    drop(self);
                    let _ = reply.send(());
                    return;
                }
            }
            // One chunk of a running compaction between batches, so neither starves the other.
            self.compact_step();
        }
    }

    /// Applies one batch; returns the shutdown reply if the batch asked to stop.
    fn handle(&mut self, batch: &mut Vec<Command>) -> Option<oneshot::Sender<()>> {
        let mut writes = Vec::new();
        let mut compactions = Vec::new();
        let mut shutdown = None;
        for command in batch.drain(..) {
            match command {
                _ if shutdown.is_some() => {} // dropping the reply tells the caller the store closed
                Command::Write { op, reply } => writes.push((op, reply)),
                Command::Compact { revision, reply } => compactions.push((revision, reply)),
                Command::Shutdown { reply } => shutdown = Some(reply),
            }
        }
        if !writes.is_empty() {
            self.commit(writes);
        }
        for (revision, reply) in compactions {
            self.start_compaction(revision, reply);
        }
        shutdown
    }

    /// Commits a group of writes in one transaction and answers each.
    fn commit(&mut self, writes: Vec<(WriteOp, oneshot::Sender<Result<Arc<Event>>>)>) {
        let count = writes.len();
        let (ops, replies): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        match self.apply(&ops) {
            Ok(results) => {
                let written = results.iter().filter(|r| r.is_ok()).count();
                self.shared.transactions.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .writes
                    .fetch_add(written as u64, Ordering::Relaxed);
                self.shared
                    .revision
                    .store(self.meta.revision, Ordering::SeqCst);
                for event in results.iter().flatten() {
                    // No receivers just means nobody watches.
                    let _ = self.events.send(Arc::clone(event));
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(source) => {
                tracing::error!(path = %self.path.display(), error = %source, writes = count, "sqlite write batch failed");
                let source = Arc::new(source);
                for reply in replies {
                    let _ = reply.send(Err(Error::Sqlite {
                        operation: format!("commit a batch of {count} writes"),
                        path: self.path.clone(),
                        source: Arc::clone(&source),
                    }));
                }
            }
        }
    }

    /// Runs the writes in one transaction; per-write failures are results, SQLite failures abort all.
    fn apply(&mut self, ops: &[WriteOp]) -> rusqlite::Result<Vec<Result<Arc<Event>>>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut revision = self.meta.revision;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let result = match plan(&tx, op, revision + 1)? {
                Ok(row) => {
                    row.insert(&tx)?;
                    revision = row.id;
                    Ok(Arc::new(row.into_event()))
                }
                Err(error) => Err(error),
            };
            results.push(result);
        }
        if revision != self.meta.revision {
            write_meta(&tx, "revision", revision)?;
            tx.commit()?;
            self.meta.revision = revision;
        }
        Ok(results)
    }

    fn start_compaction(&mut self, revision: i64, reply: oneshot::Sender<Result<()>>) {
        if revision > self.meta.revision {
            let _ = reply.send(Err(Error::FutureRevision {
                requested: revision,
                current: self.meta.revision,
            }));
            return;
        }
        if revision > self.meta.compact_revision {
            // Record the new compact revision first: from this commit on, reads below it are
            // refused, so deleting the rows afterwards (in chunks, between write batches) is never
            // observable.
            if let Err(source) = write_meta(&self.conn, "compact_revision", revision) {
                let _ = reply.send(Err(sqlite_error(
                    &self.path,
                    format!("compact to revision {revision}"),
                    source,
                )));
                return;
            }
            self.meta.compact_revision = revision;
            tracing::info!(path = %self.path.display(), revision, "compacting sqlite store");
        }
        let target = self.meta.compact_revision;
        if self.compaction.is_none() && self.meta.compacted_through >= target {
            let _ = reply.send(Ok(()));
            return;
        }
        // Also resumes a compaction that failed part-way. A new one starts at the previous target
        // itself: a tombstone there was kept (it was not below that target) and may go now.
        let running = self.compaction.get_or_insert_with(|| Compaction {
            target,
            through: self.meta.compacted_through,
            waiters: Vec::new(),
        });
        running.target = target;
        running.waiters.push(reply);
    }

    /// Removes the superseded rows of one chunk of revisions.
    fn compact_step(&mut self) {
        let Some(running) = &mut self.compaction else {
            return;
        };
        let low = running.through.max(1);
        let high = (low + COMPACTION_CHUNK - 1).min(running.target);
        let target = running.target;
        match compact_range(&mut self.conn, low, high, target) {
            Ok(()) => {
                self.meta.compacted_through = high;
                if high >= target {
                    for waiter in running.waiters.drain(..) {
                        let _ = waiter.send(Ok(()));
                    }
                    self.compaction = None;
                } else {
                    running.through = high + 1;
                }
            }
            Err(source) => {
                tracing::error!(path = %self.path.display(), error = %source, "sqlite compaction failed");
                let source = Arc::new(source);
                for waiter in running.waiters.drain(..) {
                    let _ = waiter.send(Err(Error::Sqlite {
                        operation: format!("compact to revision {target}"),
                        path: self.path.clone(),
                        source: Arc::clone(&source),
                    }));
                }
                // The next compaction, or the next start, resumes from `compacted_through`.
                self.compaction = None;
            }
        }
    }
}

/// Checks one write against the current state and builds the row it appends at `revision`.
fn plan(conn: &Connection, op: &WriteOp, revision: i64) -> rusqlite::Result<Result<LogRow>> {
    let (key, operation) = match op {
        WriteOp::Create { key, .. } => (key, "create"),
        WriteOp::Update { key, .. } => (key, "update"),
        WriteOp::Delete { key, .. } => (key, "delete"),
    };
    let latest = Latest::read(conn, key)?;
    let live = latest.as_ref().filter(|l| !l.deleted);
    let prev_revision = latest.as_ref().map_or(0, |l| l.id);
    let row = |created, deleted, create_revision, value, old_value| LogRow {
        id: revision,
        name: key.clone(),
        created,
        deleted,
        create_revision,
        prev_revision,
        value,
        old_value,
    };
    let expected = match op {
        WriteOp::Create { value, .. } => {
            return Ok(match live {
                Some(_) => Err(Error::AlreadyExists { key: key.clone() }),
                None => Ok(row(true, false, revision, value.clone(), None)),
            });
        }
        WriteOp::Update { expected, .. } => Some(*expected),
        WriteOp::Delete { expected, .. } => *expected,
    };
    let Some(live) = live else {
        return Ok(Err(Error::NotFound {
            operation,
            key: key.clone(),
        }));
    };
    if let Some(expected) = expected.filter(|e| *e != live.id) {
        return Ok(Err(Error::Conflict {
            operation,
            key: key.clone(),
            expected,
            current: live.id,
        }));
    }
    let old = Some(live.value.clone());
    Ok(Ok(match op {
        WriteOp::Update { value, .. } => {
            row(false, false, live.create_revision, value.clone(), old)
        }
        _ => row(false, true, live.create_revision, Bytes::new(), old),
    }))
}

/// Deletes, for the revisions `low..=high`, the rows they superseded and the tombstones below
/// `target`, and records the progress, in one transaction.
fn compact_range(conn: &mut Connection, low: i64, high: i64, target: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM kv WHERE id IN (
             SELECT prev_revision FROM kv WHERE id BETWEEN ?1 AND ?2 AND prev_revision > 0
         )",
        [low, high],
    )?;
    tx.execute(
        "DELETE FROM kv WHERE deleted = 1 AND id BETWEEN ?1 AND ?2 AND id < ?3",
        [low, high, target],
    )?;
    write_meta(&tx, "compacted_through", high)?;
    tx.commit()
}
