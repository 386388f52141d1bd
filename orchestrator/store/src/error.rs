//! The one error type of the store.

use std::path::PathBuf;
use std::sync::Arc;

/// What went wrong in a store operation. Variants name the operation and the key, revision, file or
/// endpoint involved, so the API server can map them to HTTP statuses and users can act on them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `create` of a key that is live (HTTP 409 AlreadyExists upstream).
    #[error("create {key}: key already exists")]
    AlreadyExists {
        /// The key that exists.
        key: String,
    },

    /// `update` or `delete` of a key that is not live (HTTP 404 NotFound upstream).
    #[error("{operation} {key}: key not found")]
    NotFound {
        /// `"update"` or `"delete"`.
        operation: &'static str,
        /// The missing key.
        key: String,
    },

    /// `update` or `delete` with a stale mod revision (HTTP 409 Conflict upstream).
    #[error(
        "{operation} {key}: conflict, expected mod revision {expected} but the key is at {current}; \
         read it again and retry"
    )]
    Conflict {
        /// `"update"` or `"delete"`.
        operation: &'static str,
        /// The key that changed.
        key: String,
        /// The mod revision the caller expected.
        expected: i64,
        /// The key's mod revision now.
        current: i64,
    },

    /// A list or watch asked for history that compaction discarded (HTTP 410 Expired upstream).
    #[error(
        "revision {requested} has been compacted, the oldest readable revision is {compacted}; \
         list again to get a current revision"
    )]
    Compacted {
        /// The revision the caller asked for.
        requested: i64,
        /// The store's compacted revision.
        compacted: i64,
    },

    /// A read or compaction at a revision the store has not reached yet.
    #[error("revision {requested} is in the future, the current revision is {current}")]
    FutureRevision {
        /// The revision the caller asked for.
        requested: i64,
        /// The store's current revision.
        current: i64,
    },

    /// A watcher fell so far behind the writes that its buffered events were overwritten; the watch
    /// ends and the client has to list and watch again.
    #[error(
        "watch {prefix}: the watcher fell more than {buffer} events behind and was stopped; \
         list and watch again"
    )]
    WatchLagged {
        /// The watched prefix.
        prefix: String,
        /// How many events the store buffers for watchers.
        buffer: usize,
    },

    /// The backend ended a watch on its own (etcd cancels watches, for example on leader loss).
    #[error("watch {prefix}: ended by the datastore: {reason}")]
    WatchEnded {
        /// The watched prefix.
        prefix: String,
        /// What the backend said.
        reason: String,
    },

    /// A key the store cannot hold.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A store URL that does not parse.
    #[error(
        "invalid store url {url:?}: {reason} (expected sqlite:///path/to/state.db, \
         etcd://host:2379[,host:2379] or etcd+https://host:2379?ca=FILE&cert=FILE&key=FILE)"
    )]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A TLS file named in an etcd URL could not be read.
    #[error("read etcd tls {what} {path}: {source}")]
    ReadTlsFile {
        /// `"ca"`, `"cert"` or `"key"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },

    /// Another process (or another store in this process) has the SQLite database open.
    #[error("sqlite database {path} is in use by another clusterd server (lock held on {lock})")]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },

    /// A file system operation around the SQLite database failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done, e.g. `"create database directory"`.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },

    /// The SQLite database was written by a newer clusterd with a layout this one does not know.
    #[error(
        "sqlite database {path} has schema version {found}, this clusterd supports up to {supported}; \
         upgrade clusterd"
    )]
    UnsupportedSchema {
        /// The database file.
        path: PathBuf,
        /// The version recorded in the file.
        found: i64,
        /// The newest version this build understands.
        supported: i64,
    },

    /// SQLite refused write-ahead logging, which concurrent reads and durability rely on.
    #[error(
        "sqlite database {path} cannot use write-ahead logging (journal mode stayed {mode}); \
         put it on a local file system"
    )]
    WalUnavailable {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },

    /// SQLite failed.
    #[error("{operation} in sqlite database {path}: {source}")]
    Sqlite {
        /// What was being done, with its key or revision.
        operation: String,
        /// The database file.
        path: PathBuf,
        /// The SQLite error (shared: one failed commit fails every write of its batch).
        source: Arc<rusqlite::Error>,
    },

    /// etcd failed or could not be reached.
    #[error("{operation} on etcd {endpoints}: {}", etcd_message(.source))]
    Etcd {
        /// What was being done, with its key or revision.
        operation: String,
        /// The endpoints the store talks to.
        endpoints: String,
        /// The client error.
        source: etcd_client::Error,
    },

    /// The store was closed, or its writer stopped.
    #[error("the datastore is closed")]
    Closed,
}

/// What an etcd client error says, without the transport's debug dump: the gRPC message and the
/// deepest cause (such as "Connection refused"), which is what a user can act on.
fn etcd_message(error: &etcd_client::Error) -> String {
    let etcd_client::Error::GRpcStatus(status) = error else {
        return error.to_string();
    };
    let mut deepest: Option<&dyn std::error::Error> = None;
    let mut cause = std::error::Error::source(status);
    while let Some(current) = cause {
        deepest = Some(current);
        cause = current.source();
    }
    let message = status.message();
    match deepest.map(ToString::to_string) {
        Some(root) if !message.contains(&root) && !message.is_empty() => {
            format!("{message}: {root}")
        }
        Some(root) => root,
        None if message.is_empty() => format!("{:?}", status.code()),
        None => message.to_owned(),
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
