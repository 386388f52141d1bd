//! Translating etcd's values and errors into the store's.

use bytes::Bytes;

use crate::{Error, Event, KeyValue, Result};

/// etcd's message when a read or watch asks for a compacted revision.
const COMPACTED: &str = "required revision has been compacted";
/// etcd's message when a read asks for a revision it has not reached.
const FUTURE_REVISION: &str = "required revision is a future revision";

fn status_message(error: &etcd_client::Error) -> Option<&str> {
    match error {
        etcd_client::Error::GRpcStatus(status) => Some(status.message()),
        _ => None,
    }
}

/// Whether etcd refused because the revision was compacted.
pub(super) fn is_compacted(error: &etcd_client::Error) -> bool {
    status_message(error).is_some_and(|m| m.contains(COMPACTED))
}

/// Whether etcd refused because the revision is in the future.
pub(super) fn is_future_revision(error: &etcd_client::Error) -> bool {
    status_message(error).is_some_and(|m| m.contains(FUTURE_REVISION))
}

/// An etcd key-value as the store's.
pub(super) fn key_value(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    let key = kv.key_str().map_err(|_| Error::InvalidKey {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        reason: "etcd returned a key that is not utf-8",
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

/// An etcd watch event as the store's; `None` for an event without a key-value (etcd always sends one).
pub(super) fn event(event: &etcd_client::Event) -> Option<Result<Event>> {
    let kv = event.kv()?;
    Some(convert_event(event, kv))
}

fn convert_event(event: &etcd_client::Event, kv: &etcd_client::KeyValue) -> Result<Event> {
    let prev = event.prev_kv().map(key_value).transpose()?;
    Ok(match event.event_type() {
        etcd_client::EventType::Put => Event::Put {
            kv: key_value(kv)?,
            prev,
        },
        etcd_client::EventType::Delete => {
            // etcd's delete event carries only the key and the deletion revision; the last value
            // and create revision come from the previous key-value.
            let mut deleted = key_value(kv)?;
            if let Some(prev) = &prev {
                deleted.value = prev.value.clone();
                deleted.create_revision = prev.create_revision;
            }
            Event::Delete { kv: deleted, prev }
        }
    })
}
