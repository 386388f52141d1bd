//! The database layout, and opening connections with the settings durability depends on.
//!
//! The `kv` table is a log in the style of kine: every write appends one row whose `id` is the
//! revision. The newest row of a name is its state; a read at revision R picks the newest row with
//! `id <= R`. Each row carries what a watch event needs (`old_value`, `prev_revision`), so events can be
//! replayed from the table alone.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Error, Result};

/// The layout version this build writes; bump with a migration when the tables change.
const SCHEMA_VERSION: i64 = 1;

/// The revision of an empty store, as in etcd.
pub(crate) const INITIAL_REVISION: i64 = 1;

const CREATE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id              INTEGER PRIMARY KEY,  -- the revision of this write
    name            TEXT    NOT NULL,     -- the key
    created         INTEGER NOT NULL,     -- 1 if this write created the key
    deleted         INTEGER NOT NULL,     -- 1 if this write deleted the key (a tombstone)
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,     -- id of the previous row of this name, 0 if none
    value           BLOB    NOT NULL,     -- empty for tombstones
    old_value       BLOB                  -- the value this write replaced or deleted
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The bookkeeping kept in the `meta` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The revision of the last committed write.
    pub revision: i64,
    /// Reads below this revision fail with `Compacted`.
    pub compact_revision: i64,
    /// Compaction has physically processed every row up to this id.
    pub compacted_through: i64,
}

/// The writer's connection, with the lock that makes it the only one.
#[derive(Debug)]
pub(crate) struct WriterConnection {
    pub conn: Connection,
    pub meta: Meta,
    /// Held (flock) for as long as the writer runs.
    pub lock: File,
}

/// Builds the error for a failed SQLite call.
pub(crate) fn sqlite_error(
    path: &Path,
    operation: impl Into<String>,
    source: rusqlite::Error,
) -> Error {
    Error::Sqlite {
        operation: operation.into(),
        path: path.to_owned(),
        source: Arc::new(source),
    }
}

fn io_error<'a>(
    operation: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}

/// Opens (creating if needed) the database for writing: takes the lock, sets WAL with
/// `synchronous=FULL`, creates the tables and reads the bookkeeping.
pub(crate) fn open_writer(path: &Path) -> Result<WriterConnection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_error("create database directory", parent))?;
        }
    }
    let lock = lock_database(path)?;
    let existed = path.exists();
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(path, "open", e))?;
    if !existed {
        // The store holds Secrets: keep it private, and make its directory entry durable.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_error("restrict permissions of", path))?;
    }
    let mode = configure_writer(&conn).map_err(|e| sqlite_error(path, "configure", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::WalUnavailable {
            path: path.to_owned(),
            mode,
        });
    }
    let meta = initialize(&conn, path)?;
    if !existed {
        sync_parent_directory(path)?;
    }
    Ok(WriterConnection { conn, meta, lock })
}

/// Opens a read-only connection for the read pool.
pub(crate) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Reads the bookkeeping (within the caller's transaction, for a consistent snapshot).
pub(crate) fn read_meta(conn: &Connection) -> rusqlite::Result<Meta> {
    let value = |key: &str| -> rusqlite::Result<i64> {
        Ok(conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?
            .unwrap_or(0))
    };
    Ok(Meta {
        revision: value("revision")?.max(INITIAL_REVISION),
        compact_revision: value("compact_revision")?,
        compacted_through: value("compacted_through")?,
    })
}

/// Records one bookkeeping value (within the caller's transaction).
pub(crate) fn write_meta(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![key, value])?;
    Ok(())
}

fn lock_database(path: &Path) -> Result<File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(io_error("open lock file", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            path: path.to_owned(),
            lock: lock_path,
        }),
        Err(TryLockError::Error(source)) => Err(Error::Io {
            operation: "lock",
            path: lock_path,
            source,
        }),
    }
}

/// Sets the pragmas and returns the journal mode SQLite actually uses.
fn configure_writer(conn: &Connection) -> rusqlite::Result<String> {
    // WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL at every commit, so an
    // acknowledged write survives kill -9 and power loss (NORMAL would not survive the latter).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(mode)
}

fn initialize(conn: &Connection, path: &Path) -> Result<Meta> {
    let run = || -> rusqlite::Result<std::result::Result<Meta, i64>> {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(CREATE_TABLES)?;
        let version: Option<i64> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        match version {
            Some(found) if found > SCHEMA_VERSION => return Ok(Err(found)),
            Some(_) => {}
            None => {
                write_meta(&tx, "schema_version", SCHEMA_VERSION)?;
                write_meta(&tx, "revision", INITIAL_REVISION)?;
            }
        }
        let meta = read_meta(&tx)?;
        tx.commit()?;
        Ok(Ok(meta))
    };
    match run().map_err(|e| sqlite_error(path, "create tables", e))? {
        Ok(meta) => Ok(meta),
        Err(found) => Err(Error::UnsupportedSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}

fn sync_parent_directory(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error("sync directory", parent))
}
