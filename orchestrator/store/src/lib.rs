//! The datastore of the clusterd API server.
//!
//! Every Kubernetes object is stored through one [`Store`] trait with two backends, in the spirit of
//! k3s's kine: embedded SQLite (the default, [`SqliteStore`]) and etcd v3 ([`EtcdStore`]).
//! [`AnyStore`] picks one from a URL (`sqlite:///var/lib/clusterd/state.db`, `etcd://host:2379`,
//! `etcd+https://host:2379?ca=…&cert=…&key=…`).
//!
//! The semantics are etcd's, which the API server builds on:
//! - one global, monotonically increasing revision (it becomes `metadata.resourceVersion`); every
//!   successful write gets its own revision, and each key carries its create and mod revisions;
//! - optimistic concurrency: update and delete take the mod revision the caller last saw and fail
//!   with [`Error::Conflict`] if the key has moved on;
//! - lists at a past revision, with limit/continue paging that stays consistent at one revision;
//! - watches of a prefix from any retained revision, with the previous value on updates and deletes;
//! - compaction: reads and watches below the compacted revision fail with [`Error::Compacted`]
//!   (HTTP 410 Expired upstream); [`Compactor`] runs it in the background.
//!
//! Prefixes name directories: see [`KeyRange`].

mod any_store;
mod compactor;
mod error;
pub mod etcd;
mod key_range;
mod key_value;
mod list;
pub mod sqlite;
mod store;
mod store_url;
mod watch_stream;

pub use any_store::AnyStore;
pub use compactor::{CompactionPolicy, Compactor, RetentionPlanner};
pub use error::{Error, Result};
pub use etcd::{EtcdConfig, EtcdStore, EtcdTls};
pub use key_range::KeyRange;
pub use key_value::{Event, KeyValue};
pub use list::{ListOptions, ListResult};
pub use sqlite::{CommitStats, SqliteConfig, SqliteStore};
pub use store::Store;
pub use store_url::{StoreConfig, DEFAULT_STORE_URL};
pub use watch_stream::WatchStream;

/// The stored bytes of a value (cheap to clone, so one event can go to many watchers).
pub use bytes::Bytes;
