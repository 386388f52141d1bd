//! Reads: a small pool of read-only connections used from the blocking thread pool.
//!
//! WAL mode lets these read while the writer commits; each read runs in one transaction, so it sees
//! one consistent revision of the whole store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::row::{Latest, LogRow, LOG_COLUMNS};
use super::schema::{open_reader, read_meta, sqlite_error, Meta};
use crate::{Error, KeyRange, KeyValue, ListResult, Result};

/// Read-only connections, at most `size` in use at once.
#[derive(Debug)]
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// A pool over the database at `path` (connections are opened on first use).
    pub fn new(path: PathBuf, size: usize) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Runs `read` on a pooled connection on the blocking thread pool. SQLite errors become
    /// [`Error::Sqlite`] naming `operation`; `read` returns store errors (like `Compacted`) inside.
    pub async fn run<T, F>(self: &Arc<Self>, operation: String, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<Result<T>> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Closed)?;
        let pool = Arc::clone(self);
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = match pool.take() {
                Ok(conn) => conn,
                Err(source) => return Err((operation, source)),
            };
            let outcome = read(&mut conn);
            pool.give_back(conn);
            outcome.map_err(|source| (operation, source))
        })
        .await
        .map_err(|_| Error::Closed)?;
        outcome.map_err(|(operation, source)| sqlite_error(&self.path, operation, source))?
    }

    /// Closes the idle connections and refuses new reads.
    pub fn close(&self) {
        self.permits.close();
        self.lock_idle().clear();
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        match self.lock_idle().pop() {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        if !self.permits.is_closed() {
            self.lock_idle().push(conn);
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the Vec inconsistent; keep using it.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Checks that `requested` (if any) is readable; returns the revision to read at.
pub(crate) fn readable_revision(meta: &Meta, requested: Option<i64>) -> Result<i64> {
    match requested {
        None => Ok(meta.revision),
        Some(r) if r > meta.revision => Err(Error::FutureRevision {
            requested: r,
            current: meta.revision,
        }),
        Some(r) if r < meta.compact_revision => Err(Error::Compacted {
            requested: r,
            compacted: meta.compact_revision,
        }),
        Some(r) => Ok(r),
    }
}

/// The SQL condition selecting `name` in a key range whose bounds are `?lo` and (if bounded) `?hi`.
fn range_condition(range: &KeyRange, lo: &str, hi: &str) -> String {
    match range.end {
        Some(_) => format!("name >= {lo} AND name < {hi}"),
        None => format!("name >= {lo}"),
    }
}

/// The live value of `key` at the latest revision.
pub(crate) fn get(conn: &mut Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    Ok(Latest::read(conn, key)?.and_then(|latest| latest.live(key)))
}

/// A page of the live keys in `range` at `requested` (or the latest) revision.
pub(crate) fn list(
    conn: &mut Connection,
    range: &KeyRange,
    requested: Option<i64>,
    start_after: Option<&str>,
    limit: Option<usize>,
) -> rusqlite::Result<Result<ListResult>> {
    let tx = conn.transaction()?;
    let meta = read_meta(&tx)?;
    let revision = match readable_revision(&meta, requested) {
        Ok(revision) => revision,
        Err(error) => return Ok(Err(error)),
    };
    let sql = format!(
        "SELECT kv.name, kv.value, kv.create_revision, kv.id
         FROM kv JOIN (
             SELECT MAX(id) AS id FROM kv
             WHERE {} AND name > ?3 AND id <= ?4
             GROUP BY name
         ) AS latest ON kv.id = latest.id
         WHERE kv.deleted = 0
         ORDER BY kv.name
         LIMIT ?5",
        range_condition(range, "?1", "?2")
    );
    // Fetch one more than asked to learn whether another page follows.
    let fetch = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX - 1) + 1);
    let mut items = {
        let mut statement = tx.prepare_cached(&sql)?;
        let rows = statement.query_map(
            rusqlite::params![
                range.start,
                range.end.as_deref().unwrap_or_default(),
                start_after.unwrap_or_default(),
                revision,
                fetch
            ],
            |row| {
                Ok(KeyValue {
                    key: row.get(0)?,
                    value: bytes::Bytes::from(row.get::<_, Vec<u8>>(1)?),
                    create_revision: row.get(2)?,
                    mod_revision: row.get(3)?,
                })
            },
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let more = limit.is_some_and(|l| items.len() > l);
    if let Some(l) = limit {
        items.truncate(l);
    }
    Ok(Ok(ListResult {
        items,
        revision,
        more,
    }))
}

/// How many live keys are in `range` at the latest revision.
pub(crate) fn count(conn: &mut Connection, range: &KeyRange) -> rusqlite::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM kv JOIN (
             SELECT MAX(id) AS id FROM kv WHERE {} GROUP BY name
         ) AS latest ON kv.id = latest.id
         WHERE kv.deleted = 0",
        range_condition(range, "?1", "?2")
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&range.start];
    if let Some(end) = &range.end {
        params.push(end);
    }
    statement.query_row(params.as_slice(), |row| row.get(0))
}

/// The revisions a page of watch history was read against.
#[derive(Debug)]
pub(crate) struct HistoryPage {
    /// The store's revision when the first page was read; history is replayed up to it.
    pub snapshot: i64,
    pub rows: Vec<LogRow>,
}

/// Up to `limit` writes in `range` with revisions in `(after, snapshot]`, oldest first.
/// `snapshot` is the store's current revision if `None` (the first page).
pub(crate) fn history(
    conn: &mut Connection,
    range: &KeyRange,
    after: i64,
    snapshot: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Result<HistoryPage>> {
    let tx = conn.transaction()?;
    let meta = read_meta(&tx)?;
    // Events after `after` start at after+1; compaction keeps every row from its revision on.
    if after + 1 < meta.compact_revision {
        return Ok(Err(Error::Compacted {
            requested: after,
            compacted: meta.compact_revision,
        }));
    }
    let snapshot = snapshot.unwrap_or(meta.revision);
    let sql = format!(
        "SELECT {LOG_COLUMNS} FROM kv
         WHERE id > ?3 AND id <= ?4 AND {}
         ORDER BY id LIMIT ?5",
        range_condition(range, "?1", "?2")
    );
    let rows = {
        let mut statement = tx.prepare_cached(&sql)?;
        let rows = statement.query_map(
            rusqlite::params![
                range.start,
                range.end.as_deref().unwrap_or_default(),
                after,
                snapshot,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            LogRow::from_row,
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(Ok(HistoryPage { snapshot, rows }))
}

/// The store's bookkeeping, read in one snapshot.
pub(crate) fn meta(conn: &mut Connection) -> rusqlite::Result<Meta> {
    let tx = conn.transaction()?;
    read_meta(&tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(revision: i64, compact_revision: i64) -> Meta {
        Meta {
            revision,
            compact_revision,
            compacted_through: compact_revision,
        }
    }

    #[test]
    fn latest_read_uses_the_current_revision() {
        assert_eq!(readable_revision(&meta(40, 10), None).unwrap(), 40);
    }

    #[test]
    fn reads_at_the_compacted_revision_still_work_but_not_below() {
        assert_eq!(readable_revision(&meta(40, 10), Some(10)).unwrap(), 10);
        assert!(matches!(
            readable_revision(&meta(40, 10), Some(9)),
            Err(Error::Compacted {
                requested: 9,
                compacted: 10
            })
        ));
    }

    #[test]
    fn reads_past_the_current_revision_are_refused() {
        assert!(matches!(
            readable_revision(&meta(40, 10), Some(41)),
            Err(Error::FutureRevision {
                requested: 41,
                current: 40
            })
        ));
    }
}
