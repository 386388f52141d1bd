//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket) and preStop hooks.
//!
//! httpGet and tcpSocket connect from the node to the pod IP (or the probe's `host`), as kubelet
//! does; exec runs the command in the container through the runtime.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterd_cri::Runtime;
use k8s_openapi::api::core::v1::{Container, ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    /// Gates the other two; failing it restarts the container.
    Startup,
    /// Failing it restarts the container.
    Liveness,
    /// Drives the container's (and the pod's) Ready condition.
    Readiness,
}

#[derive(Debug, Clone)]
struct ProbeState {
    next: Instant,
    successes: i32,
    failures: i32,
    result: Option<bool>,
}

/// What the due probes found, for the container record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// The startup probe's verdict (`None`: there is none).
    pub started: Option<bool>,
    /// The readiness probe's verdict (`None`: there is none).
    pub ready: Option<bool>,
}

/// Probe states of every container of a pod.
#[derive(Debug, Default)]
pub struct Probes {
    states: BTreeMap<(String, ProbeKind), ProbeState>,
}

fn probe_of(spec: &Container, kind: ProbeKind) -> Option<&Probe> {
    match kind {
        ProbeKind::Startup => spec.startup_probe.as_ref(),
        ProbeKind::Liveness => spec.liveness_probe.as_ref(),
        ProbeKind::Readiness => spec.readiness_probe.as_ref(),
    }
}

fn seconds(value: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(value.unwrap_or(default).max(0) as u64)
}

impl Probes {
    /// Forgets a container's probe results (a new instance starts).
    pub fn reset(&mut self, container: &str) {
        self.states.retain(|(name, _), _| name != container);
    }

    /// True when the container's `kind` probe reached its failure threshold.
    pub fn failed(&self, container: &str, kind: ProbeKind) -> bool {
        self.states
            .get(&(container.to_owned(), kind))
            .is_some_and(|s| s.result == Some(false) && kind != ProbeKind::Readiness)
    }

    /// How long until the next probe is due (the sync interval bounds it anyway).
    pub fn next_due(&self, now: Instant) -> Duration {
        self.states
            .iter()
            .filter(|((_, kind), s)| !(*kind == ProbeKind::Startup && s.result.is_some()))
            .map(|(_, s)| s.next.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(200))
    }

    /// Runs the container's due probes; `started_at` is the instance's start (ns since epoch).
    pub async fn run_due<R: Runtime>(
        &mut self,
        runtime: &R,
        spec: &Container,
        id: &str,
        pod_ip: &str,
        started_at: i64,
    ) -> ProbeOutcome {
        let now = Instant::now();
        let now_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or_default();
        let age = Duration::from_nanos((now_nanos - started_at).max(0) as u64);
        let began = now.checked_sub(age).unwrap_or(now);
        let mut outcome = ProbeOutcome::default();
        let startup_done = match spec.startup_probe {
            None => true,
            Some(_) => self
                .states
                .get(&(spec.name.clone(), ProbeKind::Startup))
                .is_some_and(|s| s.result == Some(true)),
        };
        for kind in [
            ProbeKind::Startup,
            ProbeKind::Liveness,
            ProbeKind::Readiness,
        ] {
            let Some(probe) = probe_of(spec, kind) else {
                continue;
            };
            let key = (spec.name.clone(), kind);
            let state = self.states.entry(key).or_insert_with(|| ProbeState {
                next: began + seconds(probe.initial_delay_seconds, 0),
                successes: 0,
                failures: 0,
                result: None,
            });
            let gated = kind != ProbeKind::Startup && !startup_done;
            let finished_startup = kind == ProbeKind::Startup && state.result.is_some();
            if !gated && !finished_startup && now >= state.next {
                let ok = run_probe(runtime, probe, spec, id, pod_ip).await;
                state.next = Instant::now() + seconds(probe.period_seconds, 10);
                if ok {
                    state.successes += 1;
                    state.failures = 0;
                    if state.successes >= probe.success_threshold.unwrap_or(1).max(1) {
                        state.result = Some(true);
                    }
                } else {
                    state.failures += 1;
                    state.successes = 0;
                    if state.failures >= probe.failure_threshold.unwrap_or(3).max(1) {
                        state.result = Some(false);
                    }
                }
            }
            match kind {
                ProbeKind::Startup => outcome.started = Some(state.result == Some(true)),
                ProbeKind::Readiness => outcome.ready = Some(state.result == Some(true)),
                ProbeKind::Liveness => {}
            }
        }
        outcome
    }
}

/// The probe's port as a number (named ports resolve through the container's ports).
fn port_number(port: &IntOrString, spec: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => spec
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

async fn run_probe<R: Runtime>(
    runtime: &R,
    probe: &Probe,
    spec: &Container,
    id: &str,
    pod_ip: &str,
) -> bool {
    let timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    if let Some(exec) = &probe.exec {
        return run_exec(runtime, exec, id, timeout).await;
    }
    if let Some(http) = &probe.http_get {
        return http_get(http, spec, pod_ip, timeout)
            .await
            .is_ok_and(|code| (200..400).contains(&code));
    }
    if let Some(tcp) = &probe.tcp_socket {
        return tcp_connect(tcp, spec, pod_ip, timeout).await;
    }
    tracing::warn!(container = %spec.name, "probe handler (grpc) not built yet; counted as failing");
    false
}

async fn run_exec<R: Runtime>(runtime: &R, exec: &ExecAction, id: &str, timeout: Duration) -> bool {
    let command = exec.command.clone().unwrap_or_default();
    runtime
        .exec_sync(id, &command, timeout)
        .await
        .is_ok_and(|out| out.exit_code == 0)
}

/// A GET from the node; returns the HTTP status code.
pub async fn http_get(
    action: &HTTPGetAction,
    spec: &Container,
    pod_ip: &str,
    timeout: Duration,
) -> std::io::Result<u16> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned());
    if action.scheme.as_deref() == Some("HTTPS") {
        return Err(invalid("HTTPS probes are not built yet"));
    }
    let port = port_number(&action.port, spec).ok_or_else(|| invalid("unknown port"))?;
    let host = action
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod_ip.to_owned());
    let path = action
        .path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    let headers: String = action
        .http_headers
        .iter()
        .flatten()
        .map(|h| format!("{}: {}\r\n", h.name, h.value))
        .collect();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n{headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        line.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP status line")
            })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "probe timed out"))?
}

async fn tcp_connect(
    action: &TCPSocketAction,
    spec: &Container,
    pod_ip: &str,
    timeout: Duration,
) -> bool {
    let Some(port) = port_number(&action.port, spec) else {
        return false;
    };
    let host = action
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod_ip.to_owned());
    matches!(
        tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// The shortest grace period a container gets after its preStop hook (kubelet's minimum).
pub const MINIMUM_GRACE_SECONDS: u64 = 2;

/// Runs the container's preStop hook (bounded by `deadline`), then stops it with what remains
/// of the grace period (SIGTERM, then SIGKILL).
pub async fn stop_with_pre_stop<R: Runtime>(
    runtime: &R,
    spec: &Container,
    id: &str,
    pod_ip: &str,
    deadline: Instant,
) {
    if let Some(handler) = spec.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let hook = async {
            if let Some(exec) = &handler.exec {
                let _ = runtime
                    .exec_sync(id, &exec.command.clone().unwrap_or_default(), remaining)
                    .await;
            } else if let Some(http) = &handler.http_get {
                let _ = http_get(http, spec, pod_ip, remaining).await;
            } else if let Some(sleep) = &handler.sleep {
                tokio::time::sleep(Duration::from_secs(sleep.seconds.max(0) as u64)).await;
            }
        };
        if tokio::time::timeout(remaining, hook).await.is_err() {
            tracing::info!(container = %spec.name, "preStop hook did not finish within the grace period");
        }
    }
    // The runtime counts whole seconds; like kubelet, give at least 2 s after the hook.
    let remaining = deadline.saturating_duration_since(Instant::now());
    let seconds = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    let grace = Duration::from_secs(seconds.max(MINIMUM_GRACE_SECONDS));
    if let Err(error) = runtime.stop_container(id, grace).await {
        tracing::warn!(container = %spec.name, %error, "stopping the container failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn http_get_reads_the_status_code_and_tcp_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let n = socket.read(&mut buf).await.unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let code = if request.starts_with("GET /healthz ") {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = socket
                    .write_all(format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let spec = Container {
            name: "c".into(),
            ..Default::default()
        };
        let action = |path: &str| HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(i32::from(port)),
            ..Default::default()
        };
        let timeout = Duration::from_secs(2);
        assert_eq!(
            http_get(&action("/healthz"), &spec, "127.0.0.1", timeout)
                .await
                .unwrap(),
            200
        );
        assert_eq!(
            http_get(&action("/other"), &spec, "127.0.0.1", timeout)
                .await
                .unwrap(),
            503
        );
        let tcp = TCPSocketAction {
            port: IntOrString::Int(i32::from(port)),
            host: None,
        };
        assert!(tcp_connect(&tcp, &spec, "127.0.0.1", timeout).await);
        let closed = TCPSocketAction {
            port: IntOrString::Int(1),
            host: None,
        };
        assert!(!tcp_connect(&closed, &spec, "127.0.0.1", timeout).await);
    }
}
