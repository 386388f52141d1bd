//! Watches on etcd: one etcd watch per store watch, forwarded into a bounded channel.
//!
//! etcd buffers and paces watchers itself; if one falls behind a compaction, etcd reports the
//! compacted revision and the stream ends with [`Error::Compacted`].

use std::time::Duration;

use etcd_client::{GetOptions, WatchOptions, WatchResponse};
use tokio::sync::mpsc;

use super::convert::{event, is_compacted};
use super::{etcd_range, EtcdStore};
use crate::watch_stream::WATCH_CHANNEL_CAPACITY;
use crate::{Error, Event, KeyRange, Result, WatchStream};

/// How long to wait for etcd to name the compacted revision of a refused watch.
const COMPACTION_NOTICE_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts an etcd watch of `prefix` for the events after `from_revision`.
pub(super) async fn start(
    store: &EtcdStore,
    prefix: &str,
    from_revision: i64,
) -> Result<WatchStream> {
    let range = KeyRange::prefix(prefix);
    let (key, end) = etcd_range(&range);
    let start_revision = from_revision + 1;
    let options = WatchOptions::new()
        .with_range(end.clone())
        .with_start_revision(start_revision)
        .with_prev_key();
    let operation = || format!("watch {} after revision {from_revision}", range.start);
    let mut stream = store
        .client
        .watch_client()
        .watch(key.clone(), Some(options))
        .await
        .map_err(store.error(operation()))?;

    // etcd reports a compacted start revision asynchronously; ask with a read at that revision so
    // the caller gets `Compacted` from this call, as with SQLite.
    let probe = GetOptions::new()
        .with_range(end)
        .with_revision(start_revision)
        .with_count_only();
    if let Err(source) = store.client.kv_client().get(key, Some(probe)).await {
        if is_compacted(&source) {
            let notice = async {
                while let Ok(Some(response)) = stream.message().await {
                    if response.compact_revision() > 0 {
                        return Some(response.compact_revision());
                    }
                }
                None
            };
            let compacted = tokio::time::timeout(COMPACTION_NOTICE_TIMEOUT, notice)
                .await
                .ok()
                .flatten()
                .unwrap_or(start_revision + 1);
            return Err(Error::Compacted {
                requested: from_revision,
                compacted,
            });
        }
        // A future revision is fine to watch from; other failures will show on the stream.
    }

    let (sender, receiver) = mpsc::channel(WATCH_CHANNEL_CAPACITY);
    let prefix = range.start.clone();
    let endpoints = store.endpoints.to_string();
    let task = tokio::spawn(async move {
        let mut after = from_revision;
        loop {
            let message = tokio::select! {
                () = sender.closed() => return,
                message = stream.message() => message,
            };
            let outcome = match message {
                Ok(Some(response)) => forward(&response, &prefix, &mut after, &sender).await,
                Ok(None) => Err(Error::WatchEnded {
                    prefix: prefix.clone(),
                    reason: "etcd closed the watch stream".to_owned(),
                }),
                Err(source) => Err(Error::Etcd {
                    operation: format!("watch {prefix} after revision {after}"),
                    endpoints: endpoints.clone(),
                    source,
                }),
            };
            match outcome {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            }
        }
    });
    Ok(WatchStream::new(receiver, task.abort_handle()))
}

/// Sends the events of one response; `Ok(false)` once the consumer is gone.
async fn forward(
    response: &WatchResponse,
    prefix: &str,
    after: &mut i64,
    sender: &mpsc::Sender<Result<Event>>,
) -> Result<bool> {
    if response.compact_revision() > 0 {
        return Err(Error::Compacted {
            requested: *after,
            compacted: response.compact_revision(),
        });
    }
    if response.canceled() {
        let reason = match response.cancel_reason() {
            "" => "etcd canceled the watch".to_owned(),
            reason => reason.to_owned(),
        };
        return Err(Error::WatchEnded {
            prefix: prefix.to_owned(),
            reason,
        });
    }
    for converted in response.events().iter().filter_map(event) {
        let converted = converted?;
        *after = converted.revision();
        if sender.send(Ok(converted)).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}
