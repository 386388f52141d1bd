//! `/metrics`: request counts and latencies by verb, group, resource and code, and the number of open
//! watches, in the Prometheus text format with upstream's metric names.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket upper bounds, seconds (a subset of upstream's).
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 1.0, 2.0, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    verb: String,
    group: String,
    resource: String,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Tables {
    requests: BTreeMap<(Labels, u16), u64>,
    latency: BTreeMap<Labels, Histogram>,
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    tables: Mutex<Tables>,
    watches: AtomicI64,
}

/// Counts an open watch for as long as it lives.
#[derive(Debug)]
pub struct WatchGuard<'a>(&'a Metrics);

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.0.watches.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished request (`verb` uppercased as upstream: GET, LIST, WATCH, POST, ...).
    pub fn record(&self, verb: &str, group: &str, resource: &str, code: u16, elapsed: Duration) {
        let labels = Labels {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: resource.to_owned(),
        };
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        *tables.requests.entry((labels.clone(), code)).or_default() += 1;
        let histogram = tables.latency.entry(labels).or_default();
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Counts a watch until the guard is dropped.
    pub fn watch_started(&self) -> WatchGuard<'_> {
        self.watches.fetch_add(1, Ordering::Relaxed);
        WatchGuard(self)
    }

    /// The number of open watches.
    pub fn open_watches(&self) -> i64 {
        self.watches.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, resource and HTTP response code.\n");
        out.push_str("# TYPE apiserver_request_total counter\n");
        for ((l, code), count) in &tables.requests {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{code}\",group=\"{}\",resource=\"{}\",verb=\"{}\"}} {count}",
                l.group, l.resource, l.verb
            );
        }
        out.push_str("# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, group and resource.\n");
        out.push_str("# TYPE apiserver_request_duration_seconds histogram\n");
        for (l, h) in &tables.latency {
            let labels = format!(
                "group=\"{}\",resource=\"{}\",verb=\"{}\"",
                l.group, l.resource, l.verb
            );
            for (bound, count) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "apiserver_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests.\n");
        out.push_str("# TYPE apiserver_longrunning_requests gauge\n");
        let _ = writeln!(
            out,
            "apiserver_longrunning_requests{{verb=\"WATCH\"}} {}",
            self.open_watches()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_count_requests_by_labels_and_code() {
        let metrics = Metrics::new();
        metrics.record("LIST", "", "pods", 200, Duration::from_millis(3));
        metrics.record("LIST", "", "pods", 200, Duration::from_millis(30));
        metrics.record("POST", "apps", "deployments", 409, Duration::from_millis(1));
        let _watch = metrics.watch_started();
        let text = metrics.render();
        assert!(text.contains("apiserver_request_total{code=\"200\",group=\"\",resource=\"pods\",verb=\"LIST\"} 2"), "{text}");
        assert!(text.contains("apiserver_request_total{code=\"409\",group=\"apps\",resource=\"deployments\",verb=\"POST\"} 1"));
        assert!(text.contains("apiserver_request_duration_seconds_bucket{group=\"\",resource=\"pods\",verb=\"LIST\",le=\"0.005\"} 1"));
        assert!(text.contains("apiserver_longrunning_requests{verb=\"WATCH\"} 1"));
    }
}
