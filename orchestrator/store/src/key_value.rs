//! Stored values and the changes a watch reports.

use bytes::Bytes;

/// One key with its value and revisions, as stored at some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/pods/default/web-0`.
    pub key: String,
    /// The stored bytes.
    pub value: Bytes,
    /// The revision that created this incarnation of the key.
    pub create_revision: i64,
    /// The revision of the key's last change (its `resourceVersion`).
    pub mod_revision: i64,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A key was created (`prev` is `None`) or updated (`prev` is the value it replaced).
    Put {
        /// The new value; its `mod_revision` is the revision of the change.
        kv: KeyValue,
        /// The value before the change, if the key was live.
        prev: Option<KeyValue>,
    },
    /// A key was deleted.
    Delete {
        /// The last value of the key, with `mod_revision` set to the revision of the deletion.
        kv: KeyValue,
        /// The value as it was while live (with its own mod revision). etcd can omit it if it was
        /// compacted between the deletion and the watch reading it; SQLite always has it.
        prev: Option<KeyValue>,
    },
}

impl Event {
    /// The revision of the change.
    pub fn revision(&self) -> i64 {
        self.kv().mod_revision
    }

    /// The key that changed.
    pub fn key(&self) -> &str {
        &self.kv().key
    }

    /// The key after a put, or its last value (at the deletion revision) after a delete.
    pub fn kv(&self) -> &KeyValue {
        match self {
            Event::Put { kv, .. } | Event::Delete { kv, .. } => kv,
        }
    }

    /// The value before the change, if known.
    pub fn prev(&self) -> Option<&KeyValue> {
        match self {
            Event::Put { prev, .. } | Event::Delete { prev, .. } => prev.as_ref(),
        }
    }

    /// Whether this is a deletion.
    pub fn is_delete(&self) -> bool {
        matches!(self, Event::Delete { .. })
    }
}
