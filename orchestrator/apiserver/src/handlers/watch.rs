//! Watches: a chunked stream of `{"type":…,"object":…}` events, one flush per event, with initial
//! ADDED events for `resourceVersion` 0 or empty, selector transitions, bookmarks, `timeoutSeconds`,
//! and 410 Expired as an ERROR event after compaction.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clusterd_apimachinery::status::StatusError;
use clusterd_store::Event;
use http::{header, Response};
use serde_json::{json, Value};

use super::context::{with_type, Ctx, Selectors};
use super::read::parse_resource_version;
use super::tables::wants_table as accepts_table;
use super::tables::Tabler;
use crate::http::{Body, ContentType, EventSender};
use crate::objects::{decode, list_filtered, Target};
use crate::state::ApiState;

/// How long a watch runs when the client names no `timeoutSeconds` (upstream's minimum request
/// timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

/// Everything the streaming task needs, owned.
struct WatchJob {
    state: Arc<ApiState>,
    target: Target,
    selectors: Selectors,
    name: Option<String>,
    bookmarks: bool,
    /// `sendInitialEvents=true`: end the initial events with a marked bookmark (streaming lists).
    initial_events_end: bool,
    tabler: Option<Tabler>,
    timeout: Duration,
}

impl WatchJob {
    fn matches(&self, object: &Value) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| object.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
            && self.selectors.matches(object)
    }
}

/// `GET .../<resource>?watch=true` (or `.../<resource>/<name>?watch=true`).
pub async fn watch(ctx: &Ctx<'_>, state: Arc<ApiState>) -> Result<Response<Body>, StatusError> {
    let selectors = ctx.selectors()?;
    let rv_param = ctx.param("resourceVersion");
    let from = parse_resource_version(rv_param)?;
    let timeout = match ctx.param("timeoutSeconds") {
        "" => DEFAULT_TIMEOUT,
        t => Duration::from_secs(
            t.parse::<u64>()
                .map_err(|_| StatusError::bad_request(format!("invalid timeoutSeconds: {t}")))?,
        ),
    };
    let tabler = if accepts_table(ctx.headers) {
        Some(Tabler::new(ctx).await?)
    } else {
        None
    };
    let job = WatchJob {
        state,
        target: ctx.target.clone(),
        selectors,
        name: (!ctx.info.name.is_empty()).then(|| ctx.info.name.clone()),
        bookmarks: ctx.param("allowWatchBookmarks") == "true",
        initial_events_end: ctx.param("sendInitialEvents") == "true",
        tabler,
        timeout,
    };
    let prefix = ctx.target.prefix(&ctx.info.namespace);
    let (tx, body) = Body::channel();
    tokio::spawn(async move { job.run(prefix, from, tx).await });
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(ContentType::Json.as_str()),
    );
    Ok(response)
}

impl WatchJob {
    async fn run(mut self, prefix: String, from: i64, tx: EventSender) {
        let state = self.state.clone();
        let _open = state.metrics.watch_started();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut revision = from;
        if from == 0 {
            let page = list_filtered(&state.store, &prefix, 0, None, 0, |o| self.matches(o)).await;
            match page {
                Ok(page) => {
                    revision = page.revision;
                    for object in page.items {
                        if !self.send(&tx, "ADDED", object).await {
                            return;
                        }
                    }
                    if self.initial_events_end
                        && !self.send_bookmark_with(&tx, revision, true).await
                    {
                        return;
                    }
                }
                Err(e) => {
                    self.send_error(&tx, self.target.store_error("", e)).await;
                    return;
                }
            }
        }
        let mut stream = match state.store.watch(&prefix, revision).await {
            Ok(stream) => stream,
            Err(e) => {
                self.send_error(&tx, self.target.store_error("", e)).await;
                return;
            }
        };
        loop {
            let tick = tokio::time::sleep(BOOKMARK_EVERY);
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
                _ = tick, if self.bookmarks => {
                    if !self.send_bookmark(&tx, revision).await {
                        return;
                    }
                }
                event = stream.next() => match event {
                    None => return,
                    Some(Err(e)) => {
                        if matches!(e, clusterd_store::Error::Compacted { .. }) {
                            self.send_error(&tx, self.target.store_error("", e)).await;
                        }
                        return;
                    }
                    Some(Ok(event)) => {
                        revision = event.revision();
                        if let Some((kind, object)) = self.translate(&event) {
                            if !self.send(&tx, kind, object).await {
                                return;
                            }
                        }
                    }
                },
            }
        }
    }

    /// The watch event a store change is for this watcher, honouring selector transitions.
    fn translate(&self, event: &Event) -> Option<(&'static str, Value)> {
        let new = decode(event.kv()).ok()?.object;
        let old = event
            .prev()
            .and_then(|kv| decode(kv).ok())
            .map(|s| s.object);
        let old_matches = old.as_ref().is_some_and(|o| self.matches(o));
        if event.is_delete() {
            let matched = old
                .as_ref()
                .map_or_else(|| self.matches(&new), |_| old_matches);
            return matched.then_some(("DELETED", new));
        }
        match (old.is_some() && old_matches, self.matches(&new)) {
            (true, true) => Some(("MODIFIED", new)),
            (false, true) => Some(("ADDED", new)),
            (true, false) => Some(("DELETED", new)),
            (false, false) => None,
        }
    }

    async fn send(&mut self, tx: &EventSender, kind: &str, object: Value) -> bool {
        let object = with_type(object, &self.target);
        let object = match &mut self.tabler {
            Some(tabler) => tabler.event_table(object),
            None => object,
        };
        send_line(tx, &json!({"type": kind, "object": object})).await
    }

    async fn send_bookmark(&self, tx: &EventSender, revision: i64) -> bool {
        self.send_bookmark_with(tx, revision, false).await
    }

    /// A BOOKMARK at `revision`; `initial_events_end` marks the end of the initial events with
    /// upstream's `k8s.io/initial-events-end` annotation.
    async fn send_bookmark_with(
        &self,
        tx: &EventSender,
        revision: i64,
        initial_events_end: bool,
    ) -> bool {
        let mut object = json!({
            "kind": self.target.kind,
            "apiVersion": self.target.api_version(),
            "metadata": {"resourceVersion": revision.to_string(), "creationTimestamp": null},
        });
        if initial_events_end {
            object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        send_line(tx, &json!({"type": "BOOKMARK", "object": object})).await
    }

    async fn send_error(&self, tx: &EventSender, error: StatusError) {
        send_line(tx, &json!({"type": "ERROR", "object": error.to_value()})).await;
    }
}

/// How long a watcher may leave its buffer full before the server gives up on it (upstream ends
/// watchers that cannot keep up, and the client lists and watches again).
const SLOW_CLIENT: Duration = Duration::from_secs(30);

/// Writes one JSON event and a newline; false when the client is gone or too slow.
async fn send_line(tx: &EventSender, event: &Value) -> bool {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    matches!(
        tokio::time::timeout(SLOW_CLIENT, tx.send(Bytes::from(bytes))).await,
        Ok(Ok(()))
    )
}
