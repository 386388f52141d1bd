//! One row of the `kv` log, and the watch event it stands for.

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};

use crate::{Event, KeyValue};

/// The columns every query of whole rows selects, in the order [`LogRow::from_row`] reads them.
pub(crate) const LOG_COLUMNS: &str =
    "id, name, created, deleted, create_revision, prev_revision, value, old_value";

/// One write as stored in the log.
#[derive(Debug, Clone)]
pub(crate) struct LogRow {
    /// The revision of the write.
    pub id: i64,
    pub name: String,
    pub created: bool,
    pub deleted: bool,
    pub create_revision: i64,
    /// The id of the previous row of this name, 0 if none.
    pub prev_revision: i64,
    /// The new value (empty for a deletion).
    pub value: Bytes,
    /// The value this write replaced or deleted.
    pub old_value: Option<Bytes>,
}

impl LogRow {
    /// Reads a row selected with [`LOG_COLUMNS`].
    pub fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            created: row.get(2)?,
            deleted: row.get(3)?,
            create_revision: row.get(4)?,
            prev_revision: row.get(5)?,
            value: Bytes::from(row.get::<_, Vec<u8>>(6)?),
            old_value: row.get::<_, Option<Vec<u8>>>(7)?.map(Bytes::from),
        })
    }

    /// Appends the row to the log (within the writer's transaction).
    pub fn insert(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, old_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            self.id,
            self.name,
            self.created,
            self.deleted,
            self.create_revision,
            self.prev_revision,
            &self.value[..],
            self.old_value.as_deref(),
        ])?;
        Ok(())
    }

    /// The change this row records, as a watch reports it.
    pub fn into_event(self) -> Event {
        let prev = self.old_value.map(|old| KeyValue {
            key: self.name.clone(),
            value: old,
            create_revision: self.create_revision,
            mod_revision: self.prev_revision,
        });
        if self.deleted {
            let last = prev.as_ref().map(|p| p.value.clone()).unwrap_or_default();
            Event::Delete {
                kv: KeyValue {
                    key: self.name,
                    value: last,
                    create_revision: self.create_revision,
                    mod_revision: self.id,
                },
                prev,
            }
        } else {
            Event::Put {
                kv: KeyValue {
                    key: self.name,
                    value: self.value,
                    create_revision: self.create_revision,
                    mod_revision: self.id,
                },
                prev: if self.created { None } else { prev },
            }
        }
    }
}

/// The newest row of one name: its live value, or a tombstone.
#[derive(Debug, Clone)]
pub(crate) struct Latest {
    pub id: i64,
    pub deleted: bool,
    pub create_revision: i64,
    pub value: Bytes,
}

impl Latest {
    /// The newest row of `name`, if it was ever written (and not compacted away).
    pub fn read(conn: &Connection, name: &str) -> rusqlite::Result<Option<Self>> {
        conn.prepare_cached(
            "SELECT id, deleted, create_revision, value FROM kv WHERE name = ?1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([name], |row| {
            Ok(Self {
                id: row.get(0)?,
                deleted: row.get(1)?,
                create_revision: row.get(2)?,
                value: Bytes::from(row.get::<_, Vec<u8>>(3)?),
            })
        })
        .optional()
    }

    /// The live value, or `None` for a tombstone.
    pub fn live(self, name: &str) -> Option<KeyValue> {
        (!self.deleted).then(|| KeyValue {
            key: name.to_owned(),
            value: self.value,
            create_revision: self.create_revision,
            mod_revision: self.id,
        })
    }
}
