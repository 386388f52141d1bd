//! Watches: replay the retained history from the table, then follow the writer's live feed.
//!
//! The watcher subscribes to the live feed *before* it reads history, and history is read up to a
//! snapshot revision S; live events at or below S are skipped. Anything committed after S is in the
//! feed, anything before is in the table, so the switch has no gap and no duplicate.
//!
//! Memory stays bounded: the live feed is a ring of `watch_buffer` events shared by all watchers, and
//! each watcher hands events to its consumer through a small bounded channel. A watcher whose
//! consumer (or history replay) falls more than `watch_buffer` events behind the writes ends with
//! [`Error::WatchLagged`]; the API server closes that watch and the client lists and watches again,
//! the same contract Kubernetes clients already follow for 410 Expired.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use super::reader::{self, ReadPool};
use crate::watch_stream::WATCH_CHANNEL_CAPACITY;
use crate::{Error, Event, KeyRange, Result, WatchStream};

/// How many history rows one read transaction returns.
const HISTORY_PAGE: usize = 512;

/// What a watch needs to run.
#[derive(Debug)]
pub(crate) struct WatchRequest {
    pub prefix: String,
    pub range: KeyRange,
    pub from_revision: i64,
    /// The size of the live feed, reported if the watcher lags.
    pub buffer: usize,
}

/// Starts a watch; `live` must have been subscribed before this call.
pub(crate) async fn start(
    pool: Arc<ReadPool>,
    live: broadcast::Receiver<Arc<Event>>,
    request: WatchRequest,
) -> Result<WatchStream> {
    let meta = pool
        .run(format!("watch {}", request.prefix), |conn| {
            reader::meta(conn).map(Ok)
        })
        .await?;
    if request.from_revision + 1 < meta.compact_revision {
        return Err(Error::Compacted {
            requested: request.from_revision,
            compacted: meta.compact_revision,
        });
    }
    let (sender, receiver) = mpsc::channel(WATCH_CHANNEL_CAPACITY);
    let task = tokio::spawn(async move {
        if let Err(error) = run(&pool, live, &request, &sender).await {
            let _ = sender.send(Err(error)).await;
        }
    });
    Ok(WatchStream::new(receiver, task.abort_handle()))
}

/// Feeds `sender` until the consumer goes away (`Ok`) or the watch fails (`Err`).
async fn run(
    pool: &Arc<ReadPool>,
    mut live: broadcast::Receiver<Arc<Event>>,
    request: &WatchRequest,
    sender: &mpsc::Sender<Result<Event>>,
) -> Result<()> {
    let mut after = request.from_revision;
    let mut snapshot = None;
    loop {
        let range = request.range.clone();
        let page = pool
            .run(
                format!("replay watch {} after revision {after}", request.prefix),
                move |conn| reader::history(conn, &range, after, snapshot, HISTORY_PAGE),
            )
            .await?;
        snapshot = Some(page.snapshot);
        let full = page.rows.len() == HISTORY_PAGE;
        for row in page.rows {
            after = row.id;
            if sender.send(Ok(row.into_event())).await.is_err() {
                return Ok(());
            }
        }
        if !full {
            break;
        }
    }
    // Live events up to here were replayed (or precede the requested revision).
    let replayed_through = snapshot.unwrap_or(after).max(request.from_revision);
    loop {
        let received = tokio::select! {
            () = sender.closed() => return Ok(()),
            received = live.recv() => received,
        };
        match received {
            Ok(event) => {
                if event.revision() > replayed_through
                    && request.range.contains(event.key())
                    && sender.send(Ok(Event::clone(&event))).await.is_err()
                {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                return Err(Error::WatchLagged {
                    prefix: request.prefix.clone(),
                    buffer: request.buffer,
                })
            }
            Err(broadcast::error::RecvError::Closed) => return Err(Error::Closed),
        }
    }
}
