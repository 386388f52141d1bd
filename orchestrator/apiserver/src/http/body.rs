//! Response bodies: a whole buffer, or a bounded channel of chunks for watches; and request bodies
//! read up to a limit.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use clusterd_apimachinery::status::StatusError;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use tokio::sync::mpsc;

/// The largest request body accepted (upstream's 3 MiB); bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Chunks a watch may queue for a slow client before its producer waits (and the store's own
/// bounded buffer then ends the watch): memory per watcher stays bounded.
const STREAM_CHUNKS: usize = 16;

/// A response body: a buffer, or a stream of chunks (watches).
#[derive(Debug)]
pub enum Body {
    /// The whole body at once.
    Full(Full<Bytes>),
    /// Chunks sent by a producer task, each flushed as it arrives.
    Stream(mpsc::Receiver<Bytes>),
}

/// The producer side of a streamed [`Body`].
pub type EventSender = mpsc::Sender<Bytes>;

impl Body {
    /// A body holding `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::Full(Full::new(bytes.into()))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// A streamed body and the sender that feeds it; the stream ends when the sender is dropped.
    pub fn channel() -> (EventSender, Self) {
        let (tx, rx) = mpsc::channel(STREAM_CHUNKS);
        (tx, Self::Stream(rx))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full).poll_frame(cx),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| Ok(Frame::data(c)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`]; a bigger one is a 413 Status.
pub async fn read_body(body: Incoming) -> Result<Bytes, StatusError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(
            StatusError::request_entity_too_large(&format!("limit is {MAX_BODY_BYTES}")),
        ),
        Err(e) => Err(StatusError::bad_request(format!("read request body: {e}"))),
    }
}
