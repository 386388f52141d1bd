//! The stream of changes a watch delivers.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::{Event, Result};

/// How many events a watch buffers between its producer and a slow consumer.
pub(crate) const WATCH_CHANNEL_CAPACITY: usize = 128;

/// A running watch: yields changes in revision order; dropping it stops the watch.
///
/// Implements [`futures_core::Stream`]; [`WatchStream::next`] is the same without a stream library.
/// After an `Err` item (for example [`crate::Error::WatchLagged`] or [`crate::Error::Compacted`]) the
/// stream ends: the client has to list and watch again.
#[derive(Debug)]
pub struct WatchStream {
    events: mpsc::Receiver<Result<Event>>,
    producer: AbortHandle,
}

impl WatchStream {
    /// A stream fed through `events` by the task behind `producer`, which is aborted on drop.
    pub(crate) fn new(events: mpsc::Receiver<Result<Event>>, producer: AbortHandle) -> Self {
        Self { events, producer }
    }

    /// The next change, or `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        self.events.recv().await
    }
}

impl futures_core::Stream for WatchStream {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.producer.abort();
    }
}
