//! `GET /containerLogs/{ns}/{pod}/{container}`: a container's CRI log file as kubectl prints it,
//! optionally followed until the container exits.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use clusterd_cri::cri_log::parse_record;
use clusterd_cri::{api, Runtime};
use http::Response;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::body::{response, Body};
use super::lookup::ContainerLookup;
use super::status;

/// How often a followed log file is polled for new bytes.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// What kubectl asked for (`pods/log` query parameters, passed on by the API server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open and send new lines until the container exits.
    pub follow: bool,
    /// The previous instance's log.
    pub previous: bool,
    /// Prefix each line with its RFC 3339 time.
    pub timestamps: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Stop after this many bytes.
    pub limit_bytes: Option<usize>,
}

impl LogOptions {
    /// Parses the query string; a malformed number is an error naming the parameter.
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut options = LogOptions::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let number = |v: &str| -> Result<i64, String> {
                v.parse::<i64>()
                    .map_err(|_| format!("{key}={v} is not a number"))
            };
            match key.as_ref() {
                "follow" => options.follow = value == "true" || value == "1",
                "previous" => options.previous = value == "true" || value == "1",
                "timestamps" => options.timestamps = value == "true" || value == "1",
                "tailLines" => options.tail_lines = Some(number(&value)?.max(0) as usize),
                "limitBytes" => options.limit_bytes = Some(number(&value)?.max(0) as usize),
                "sinceSeconds" => {
                    options.since = Some(
                        OffsetDateTime::now_utc() - time::Duration::seconds(number(&value)?.max(0)),
                    )
                }
                "sinceTime" => {
                    options.since = Some(
                        OffsetDateTime::parse(&value, &Rfc3339)
                            .map_err(|_| format!("sinceTime={value} is not RFC 3339"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// Turns CRI log records into kubectl's output, applying `since`, `timestamps` and the byte limit.
#[derive(Debug)]
struct Renderer {
    timestamps: bool,
    /// The previous record ended its line (a partial record's continuation gets no timestamp).
    mid_line: bool,
    since: Option<OffsetDateTime>,
    remaining: Option<usize>,
}

impl Renderer {
    /// The output for one record line (without its newline); `None` once the byte limit is spent.
    fn record(&mut self, line: &str) -> Option<Vec<u8>> {
        if self.remaining == Some(0) {
            return None;
        }
        let Ok(record) = parse_record(line) else {
            return Some(Vec::new());
        };
        if self.since.is_some_and(|since| record.time < since) {
            return Some(Vec::new());
        }
        let mut out = Vec::with_capacity(record.message.len() + 40);
        if self.timestamps && !self.mid_line {
            let time = line.split(' ').next().unwrap_or_default();
            out.extend_from_slice(time.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(record.message.as_bytes());
        if !record.partial {
            out.push(b'\n');
        }
        self.mid_line = record.partial;
        if let Some(remaining) = &mut self.remaining {
            out.truncate(*remaining);
            *remaining -= out.len();
        }
        Some(out)
    }

    /// Renders every complete line of `text`.
    fn lines<'a>(&mut self, lines: impl Iterator<Item = &'a str>) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            match self.record(line) {
                Some(bytes) => out.extend(bytes),
                None => break,
            }
        }
        out
    }

    fn spent(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// Serves the log of `namespace/pod`'s `container`.
pub async fn container_logs<R, L>(
    runtime: &R,
    lookup: &L,
    namespace: &str,
    pod: &str,
    container: &str,
    query: &str,
) -> Response<Body>
where
    R: Runtime + Clone + 'static,
    L: ContainerLookup,
{
    let options = match LogOptions::parse(query) {
        Ok(options) => options,
        Err(message) => return status::bad_request(&message),
    };
    let Some(found) = lookup.container(namespace, pod, container).await else {
        return status::container_not_found(namespace, pod, container);
    };
    let (container_id, log_path) = if options.previous {
        match found.previous {
            Some(previous) => (previous.container_id, previous.log_path),
            None => {
                return status::bad_request(&format!(
                    "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                ))
            }
        }
    } else {
        (found.container_id, found.log_path)
    };
    let text = match tokio::fs::read(&log_path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return status::internal(&format!(
                "read log file {} of container {container_id}: {e}",
                log_path.display()
            ))
        }
    };
    // Only whole records are rendered; a record still being written is left for the follower.
    let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let whole = String::from_utf8_lossy(&text[..complete]).into_owned();
    let mut records: Vec<&str> = whole.lines().filter(|l| !l.is_empty()).collect();
    if let Some(tail) = options.tail_lines {
        records.drain(..records.len().saturating_sub(tail));
    }
    let mut renderer = Renderer {
        timestamps: options.timestamps,
        mid_line: false,
        since: options.since,
        remaining: options.limit_bytes,
    };
    let first = renderer.lines(records.into_iter());
    if !options.follow || renderer.spent() {
        return response(200, "text/plain", Body::full(first));
    }
    let (tx, body) = Body::channel();
    let runtime = runtime.clone();
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        follow(
            &runtime,
            &container_id,
            &log_path,
            complete as u64,
            renderer,
            tx,
        )
        .await;
    });
    response(200, "text/plain", body)
}

/// Sends records appended to `path` after `offset` until the container stops running (or the
/// client goes away, or the byte limit is spent).
async fn follow<R: Runtime>(
    runtime: &R,
    container_id: &str,
    path: &Path,
    mut offset: u64,
    mut renderer: Renderer,
    tx: mpsc::Sender<Bytes>,
) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let running = is_running(runtime, container_id).await;
        let fresh = read_from(path, &mut offset).await;
        pending.extend(fresh);
        if let Some(end) = pending.iter().rposition(|b| *b == b'\n') {
            let chunk: Vec<u8> = pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&chunk).into_owned();
            let out = renderer.lines(text.lines());
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
            if renderer.spent() {
                return;
            }
        }
        if !running {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

async fn is_running<R: Runtime>(runtime: &R, container_id: &str) -> bool {
    match runtime.container_status(container_id).await {
        Ok(status) => status.state == api::ContainerState::ContainerRunning as i32,
        Err(_) => false,
    }
}

async fn read_from(path: &Path, offset: &mut u64) -> Vec<u8> {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    if len < *offset {
        // The file was rotated or truncated: start over.
        *offset = 0;
    }
    if file.seek(std::io::SeekFrom::Start(*offset)).await.is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).await.is_ok() {
        *offset += bytes.len() as u64;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2026-11-27T10:00:00.5Z stdout F one\n\
                       2026-11-27T10:00:01Z stderr F two\n\
                       2026-11-27T10:00:02Z stdout P thr\n\
                       2026-11-27T10:00:02Z stdout F ee\n";

    fn render(options: &str) -> String {
        let options = LogOptions::parse(options).unwrap();
        let mut lines: Vec<&str> = LOG.lines().collect();
        if let Some(tail) = options.tail_lines {
            lines.drain(..lines.len().saturating_sub(tail));
        }
        let mut renderer = Renderer {
            timestamps: options.timestamps,
            mid_line: false,
            since: options.since,
            remaining: options.limit_bytes,
        };
        String::from_utf8(renderer.lines(lines.into_iter())).unwrap()
    }

    #[test]
    fn logs_join_partial_records_and_honour_the_options() {
        assert_eq!(render(""), "one\ntwo\nthree\n");
        assert_eq!(render("tailLines=2"), "three\n");
        assert_eq!(render("limitBytes=6"), "one\ntw");
        assert_eq!(
            render("timestamps=true&tailLines=3"),
            "2026-11-27T10:00:01Z two\n2026-11-27T10:00:02Z three\n"
        );
        assert_eq!(render("sinceTime=2026-11-27T10:00:01Z"), "two\nthree\n");
        assert!(LogOptions::parse("tailLines=x")
            .unwrap_err()
            .contains("tailLines=x"));
    }
}
