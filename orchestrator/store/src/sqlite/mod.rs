//! The embedded SQLite backend (the default).
//!
//! - Durability: WAL with `synchronous=FULL`; a write is acknowledged only after its transaction is
//!   committed and fsynced, so it survives `kill -9` and power loss.
//! - Throughput: one writer thread does group commit: every write queued while the previous
//!   transaction committed goes into the next one, one fsync per batch, each write still getting its
//!   own revision and its own result.
//! - Reads: a small pool of read-only connections on tokio's blocking pool, beside the writer.
//! - Watches: history from the table, then the writer's live feed, with no gap or duplicate between
//!   them. Memory is bounded: the feed keeps the last [`SqliteConfig::watch_buffer`] events, and a
//!   watcher that falls further behind ends with [`crate::Error::WatchLagged`]; the API server closes
//!   that watch and the client lists and watches again (as it does after 410 Expired).
//! - One process at a time: the database is locked (`<path>.lock`) while a store has it open.

mod reader;
mod row;
mod schema;
mod watcher;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot};

use self::reader::ReadPool;
use self::watcher::WatchRequest;
use self::writer::{Command, Shared, WriteOp, Writer};
use crate::key_range::validate_key;
use crate::{
    Error, Event, KeyRange, KeyValue, ListOptions, ListResult, Result, Store, WatchStream,
};

/// How many events the live feed keeps for watchers by default.
pub const DEFAULT_WATCH_BUFFER: usize = 4096;

/// How many read-only connections read at once by default.
pub const DEFAULT_READ_CONNECTIONS: usize = 4;

/// How many writes can wait for the writer thread before callers wait to enqueue.
const COMMAND_QUEUE: usize = 4096;

/// Where the SQLite database lives and how it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file; created (with its directory, mode 0700) if missing.
    pub path: PathBuf,
    /// How many recent events are kept for watchers; a watcher further behind is stopped with
    /// [`Error::WatchLagged`]. Costs up to this many events of memory.
    pub watch_buffer: usize,
    /// How many reads run at once.
    pub read_connections: usize,
}

impl SqliteConfig {
    /// The default settings for the database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            watch_buffer: DEFAULT_WATCH_BUFFER,
            read_connections: DEFAULT_READ_CONNECTIONS,
        }
    }
}

/// How much work group commit has saved: writes committed, and the transactions they took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed (one fsync each).
    pub transactions: u64,
    /// Writes committed (each with its own revision).
    pub writes: u64,
}

/// The store on an embedded SQLite database. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: SqliteConfig,
    commands: mpsc::Sender<Command>,
    /// Subscriptions to the writer's live feed; taken on close so watchers end.
    live: Mutex<Option<broadcast::Sender<Arc<Event>>>>,
    shared: Arc<Shared>,
    reads: Arc<ReadPool>,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("config", &self.inner.config)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database and starts its writer thread.
    ///
    /// Fails with [`Error::Locked`] if another store has it open.
    pub async fn open(config: SqliteConfig) -> Result<Self> {
        let path = config.path.clone();
        let opened = tokio::task::spawn_blocking(move || schema::open_writer(&path))
            .await
            .map_err(|_| Error::Closed)??;
        let (live, _) = broadcast::channel(config.watch_buffer.max(1));
        let shared = Arc::new(Shared::default());
        let writer = Writer::new(
            opened,
            config.path.clone(),
            Arc::clone(&shared),
            live.clone(),
        );
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || writer.run(receiver))
            .map_err(|source| Error::Io {
                operation: "start the writer thread for",
                path: config.path.clone(),
                source,
            })?;
        let reads = Arc::new(ReadPool::new(config.path.clone(), config.read_connections));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                commands,
                live: Mutex::new(Some(live)),
                shared,
                reads,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.inner.reads.path()
    }

    /// Writes and transactions committed since the store was opened.
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            transactions: self.inner.shared.transactions.load(Ordering::Relaxed),
            writes: self.inner.shared.writes.load(Ordering::Relaxed),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    async fn write(&self, op: WriteOp) -> Result<Arc<Event>> {
        self.check_open()?;
        let (reply, response) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Write { op, reply })
            .await
            .map_err(|_| Error::Closed)?;
        response.await.map_err(|_| Error::Closed)?
    }
}

impl Store for SqliteStore {
    async fn current_revision(&self) -> Result<i64> {
        self.check_open()?;
        Ok(self.inner.shared.revision.load(Ordering::SeqCst))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.check_open()?;
        validate_key(key)?;
        let key = key.to_owned();
        self.inner
            .reads
            .run(format!("get {key}"), move |conn| {
                reader::get(conn, &key).map(Ok)
            })
            .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        self.check_open()?;
        let range = KeyRange::prefix(prefix);
        let operation = format!("list {}", range.start);
        self.inner
            .reads
            .run(operation, move |conn| {
                reader::list(
                    conn,
                    &range,
                    opts.requested_revision(),
                    opts.start_after.as_deref(),
                    opts.requested_limit(),
                )
            })
            .await
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        self.check_open()?;
        let range = KeyRange::prefix(prefix);
        let operation = format!("count {}", range.start);
        self.inner
            .reads
            .run(operation, move |conn| reader::count(conn, &range).map(Ok))
            .await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<i64> {
        validate_key(key)?;
        let key = key.to_owned();
        Ok(self.write(WriteOp::Create { key, value }).await?.revision())
    }

    async fn update(&self, key: &str, value: Bytes, expected_mod_revision: i64) -> Result<i64> {
        validate_key(key)?;
        let key = key.to_owned();
        let op = WriteOp::Update {
            key,
            value,
            expected: expected_mod_revision,
        };
        Ok(self.write(op).await?.revision())
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        validate_key(key)?;
        let key = key.to_owned();
        let op = WriteOp::Delete {
            key,
            expected: expected_mod_revision,
        };
        let event = self.write(op).await?;
        // A deletion always records the value it removed; fall back to the tombstone's copy.
        let deleted = event.prev().unwrap_or(event.kv()).clone();
        Ok((event.revision(), deleted))
    }

    async fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream> {
        self.check_open()?;
        let live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(broadcast::Sender::subscribe)
            .ok_or(Error::Closed)?;
        let request = WatchRequest {
            prefix: prefix.to_owned(),
            range: KeyRange::prefix(prefix),
            from_revision,
            buffer: self.inner.config.watch_buffer,
        };
        watcher::start(Arc::clone(&self.inner.reads), live, request).await
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.check_open()?;
        let (reply, response) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Compact { revision, reply })
            .await
            .map_err(|_| Error::Closed)?;
        response.await.map_err(|_| Error::Closed)?
    }

    async fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let (reply, stopped) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            // An error means the writer already stopped, which is what we wait for.
            let _ = stopped.await;
        }
        self.inner
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        self.inner.reads.close();
        Ok(())
    }
}
