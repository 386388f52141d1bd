//! The storage trait the API server is written against.

use std::future::Future;

use bytes::Bytes;

use crate::{KeyValue, ListOptions, ListResult, Result, WatchStream};

/// The operations the API server needs from a datastore, with etcd v3 semantics.
///
/// Revisions are `i64` like etcd's: a fresh store is at revision 1 and every successful write moves it
/// forward by one. A failed write (conflict, already exists, not found) takes no revision.
///
/// Implemented by [`crate::SqliteStore`], [`crate::EtcdStore`] and [`crate::AnyStore`] (which
/// dispatches to either). Every implementation passes the same conformance suite (`tests/`).
pub trait Store: Send + Sync {
    /// The revision of the most recent write acknowledged by this store.
    fn current_revision(&self) -> impl Future<Output = Result<i64>> + Send;

    /// The live value of `key`, or `None` if it does not exist (never created, or deleted).
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<KeyValue>>> + Send;

    /// The live keys under `prefix` (a directory, see [`crate::KeyRange`]) in key order, at
    /// `opts.revision` or the latest revision, a page at a time.
    ///
    /// Fails with [`crate::Error::Compacted`] below the compacted revision and with
    /// [`crate::Error::FutureRevision`] above the current one.
    fn list(
        &self,
        prefix: &str,
        opts: ListOptions,
    ) -> impl Future<Output = Result<ListResult>> + Send;

    /// How many live keys are under `prefix` at the latest revision.
    fn count(&self, prefix: &str) -> impl Future<Output = Result<i64>> + Send;

    /// Creates `key`; returns the revision of the write.
    ///
    /// Fails with [`crate::Error::AlreadyExists`] if the key is live. A deleted key can be created again
    /// (its create revision starts over).
    fn create(&self, key: &str, value: Bytes) -> impl Future<Output = Result<i64>> + Send;

    /// Replaces the value of `key` if its mod revision is still `expected_mod_revision`; returns the
    /// revision of the write.
    ///
    /// Fails with [`crate::Error::NotFound`] if the key is not live and with [`crate::Error::Conflict`]
    /// (carrying the current mod revision) if it has changed since.
    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// Deletes `key`, if given only while its mod revision is still `expected_mod_revision`.
    ///
    /// Returns the revision of the deletion and the value that was deleted (with the mod revision it
    /// had while live). Fails like [`Store::update`].
    fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> impl Future<Output = Result<(i64, KeyValue)>> + Send;

    /// Streams every change under `prefix` with a revision greater than `from_revision`: first the
    /// retained history, then live changes, in revision order, without gaps or duplicates.
    ///
    /// Pass the revision of a list to see what happened after it. Fails with
    /// [`crate::Error::Compacted`] if events after `from_revision` are no longer retained (this may also
    /// arrive as the first item of the stream if a compaction races the call). Dropping the stream
    /// stops the watch; after an error item the stream ends.
    fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> impl Future<Output = Result<WatchStream>> + Send;

    /// Discards the history before `revision`: afterwards reads below it fail with
    /// [`crate::Error::Compacted`]. Compacting to a revision already compacted is a no-op.
    fn compact(&self, revision: i64) -> impl Future<Output = Result<()>> + Send;

    /// Finishes pending writes and releases the backend (for SQLite: the database file and its lock).
    /// Later calls fail with [`crate::Error::Closed`].
    fn close(&self) -> impl Future<Output = Result<()>> + Send;
}
