//! Real kubectl against a minimal HTTP server that answers with this crate's discovery documents,
//! Tables and Status errors: proves that kubectl 1.32 parses them as it parses kube-apiserver's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use clusterd_apimachinery::registry::{discovery, Registry};
use clusterd_apimachinery::status::StatusError;
use clusterd_apimachinery::table::{accepts_table, to_table, IncludeObject};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl_present() -> bool {
    if std::path::Path::new(KUBECTL).exists() {
        return true;
    }
    eprintln!("skipping: {KUBECTL} is not installed");
    false
}

fn ago(d: Duration) -> String {
    (OffsetDateTime::now_utc() - d).format(&Rfc3339).unwrap()
}

fn fixtures(resource: &str) -> Vec<Value> {
    match resource {
        "pods" => vec![json!({
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(Duration::hours(1)),
                         "labels": {"app": "web"}, "resourceVersion": "7"},
            "spec": {"nodeName": "node1", "containers": [{"name": "app", "image": "nginx"}, {"name": "log", "image": "busybox"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.244.0.7"}], "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(Duration::minutes(5))}}},
                {"name": "log", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        })],
        "services" => vec![json!({
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(Duration::hours(50))},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.20"], "selector": {"app": "web"},
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
        })],
        "deployments" => vec![json!({
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(Duration::minutes(30))},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        })],
        "nodes" => vec![json!({
            "metadata": {"name": "node1", "creationTimestamp": ago(Duration::hours(80)),
                         "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.24"}}
        })],
        "events" => vec![json!({
            "metadata": {"name": "web.1", "namespace": "default", "creationTimestamp": ago(Duration::minutes(3))},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "Started", "message": "Started container app", "type": "Normal",
            "source": {"component": "kubelet", "host": "node1"},
            "firstTimestamp": ago(Duration::minutes(3)), "lastTimestamp": ago(Duration::minutes(3)), "count": 1
        })],
        _ => Vec::new(),
    }
}

/// Answers one request with this crate's documents; `aggregated` switches discovery style.
fn respond(stream: &mut TcpStream, aggregated: bool) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut accept = String::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "accept" => accept = value.trim().to_owned(),
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let registry = Registry::builtin();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (code, content_type, body) = match segments.as_slice() {
        ["api"] if aggregated && discovery::accepts_aggregated(&accept) => (
            200,
            discovery::AGGREGATED_CONTENT_TYPE,
            discovery::aggregated_core(&registry),
        ),
        ["apis"] if aggregated && discovery::accepts_aggregated(&accept) => (
            200,
            discovery::AGGREGATED_CONTENT_TYPE,
            discovery::aggregated_groups(&registry),
        ),
        ["api"] => (
            200,
            "application/json",
            discovery::api_versions("127.0.0.1"),
        ),
        ["apis"] => (
            200,
            "application/json",
            discovery::api_group_list(&registry),
        ),
        ["api", version] => resource_list(&registry, "", version),
        ["apis", group, version] => resource_list(&registry, group, version),
        ["api", "v1", resource] => list(&registry, "", resource, &accept),
        ["api", "v1", "namespaces", "default", resource] => list(&registry, "", resource, &accept),
        ["apis", group, "v1", "namespaces", "default", resource] => {
            list(&registry, group, resource, &accept)
        }
        ["api", "v1", "namespaces", "default", resource, name] => (
            404,
            "application/json",
            StatusError::not_found(resource, "", name).to_value(),
        ),
        _ => (
            404,
            "application/json",
            StatusError::path_not_found().to_value(),
        ),
    };
    let body = serde_json::to_vec(&body).unwrap();
    write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

fn resource_list(registry: &Registry, group: &str, version: &str) -> (u16, &'static str, Value) {
    match discovery::api_resource_list(registry, group, version) {
        Some(list) => (200, "application/json", list),
        None => (
            404,
            "application/json",
            StatusError::path_not_found().to_value(),
        ),
    }
}

fn list(
    registry: &Registry,
    group: &str,
    resource: &str,
    accept: &str,
) -> (u16, &'static str, Value) {
    let info = registry
        .resources()
        .iter()
        .find(|r| r.group == group && r.resource == resource)
        .unwrap();
    let items = fixtures(resource);
    let body = if accepts_table(accept) {
        let mut table = to_table(
            info,
            &items,
            OffsetDateTime::now_utc(),
            IncludeObject::Metadata,
        );
        table["metadata"] = json!({"resourceVersion": "10"});
        table
    } else {
        json!({"kind": info.list_kind, "apiVersion": info.api_version(), "metadata": {"resourceVersion": "10"}, "items": items})
    };
    (200, "application/json", body)
}

/// Starts the server on a free port; it serves until the test process exits.
fn serve(aggregated: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || respond(&mut stream, aggregated));
        }
    });
    address
}

fn scratch_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("apim-kubectl-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs kubectl against `server`; returns (success, stdout, stderr).
fn kubectl(server: &str, args: &[&str]) -> (bool, String, String) {
    let dir = scratch_dir();
    let output = Command::new(KUBECTL)
        .env("KUBECONFIG", dir.join("absent-kubeconfig"))
        .env("HOME", &dir)
        .arg(format!("--server={server}"))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .arg("--request-timeout=20s")
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn api_resources_lists_upstream_names(server: &str) {
    let (ok, out, err) = kubectl(server, &["api-resources", "--no-headers"]);
    assert!(ok, "kubectl api-resources failed: {err}");
    let rows: Vec<Vec<&str>> = out.lines().map(words).collect();
    for expected in [
        vec!["pods", "po", "v1", "true", "Pod"],
        vec!["services", "svc", "v1", "true", "Service"],
        vec!["namespaces", "ns", "v1", "false", "Namespace"],
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"],
        vec![
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition",
        ],
        vec![
            "selfsubjectaccessreviews",
            "authorization.k8s.io/v1",
            "false",
            "SelfSubjectAccessReview",
        ],
        vec!["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics"],
    ] {
        assert!(rows.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    let (ok, out, err) = kubectl(server, &["api-resources", "--categories=all", "-o", "name"]);
    assert!(ok, "{err}");
    let mut all: Vec<&str> = out.lines().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        [
            "cronjobs.batch",
            "daemonsets.apps",
            "deployments.apps",
            "horizontalpodautoscalers.autoscaling",
            "jobs.batch",
            "pods",
            "replicasets.apps",
            "services",
            "statefulsets.apps"
        ]
    );
}

#[test]
fn kubectl_reads_aggregated_discovery() {
    if !kubectl_present() {
        return;
    }
    api_resources_lists_upstream_names(&serve(true));
}

#[test]
fn kubectl_reads_legacy_discovery() {
    if !kubectl_present() {
        return;
    }
    api_resources_lists_upstream_names(&serve(false));
}

#[test]
fn kubectl_get_prints_upstream_columns_from_tables() {
    if !kubectl_present() {
        return;
    }
    let server = serve(true);
    let (ok, out, err) = kubectl(&server, &["get", "po", "-o", "wide"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED",
            "NODE",
            "READINESS",
            "GATES"
        ]
    );
    assert_eq!(
        words(lines[1]),
        [
            "web",
            "1/2",
            "CrashLoopBackOff",
            "2",
            "(5m",
            "ago)",
            "60m",
            "10.244.0.7",
            "node1",
            "<none>",
            "<none>"
        ]
    );

    let (ok, out, err) = kubectl(&server, &["get", "svc"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert_eq!(
        words(lines[1]),
        [
            "web",
            "NodePort",
            "10.96.0.20",
            "<none>",
            "80:30080/TCP",
            "2d2h"
        ]
    );

    let (ok, out, err) = kubectl(&server, &["get", "deploy", "--show-labels=false"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(words(lines[1]), ["web", "2/3", "3", "2", "30m"]);
}

#[test]
fn kubectl_prints_not_found_status_message() {
    if !kubectl_present() {
        return;
    }
    let (ok, _, err) = kubectl(&serve(true), &["get", "pod", "missing"]);
    assert!(!ok);
    assert!(
        err.contains(r#"Error from server (NotFound): pods "missing" not found"#),
        "{err}"
    );
}

#[test]
fn kubectl_wide_nodes_all_namespaces_and_events() {
    if !kubectl_present() {
        return;
    }
    let server = serve(true);
    let (ok, out, err) = kubectl(&server, &["get", "no", "-o", "wide"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    assert_eq!(
        words(lines[1]),
        [
            "node1",
            "Ready,SchedulingDisabled",
            "control-plane",
            "3d8h",
            "v1.32.4",
            "172.18.0.2",
            "<none>",
            "Debian",
            "GNU/Linux",
            "12",
            "(bookworm)",
            "6.1.0",
            "containerd://1.7.24"
        ]
    );

    let (ok, out, err) = kubectl(&server, &["get", "pods", "-A"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(words(lines[1])[..3], ["default", "web", "1/2"]);

    let (ok, out, err) = kubectl(&server, &["get", "events"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    assert_eq!(
        words(lines[1]),
        [
            "3m",
            "Normal",
            "Started",
            "pod/web",
            "Started",
            "container",
            "app"
        ]
    );
}

#[test]
fn kubectl_get_all_lists_every_all_category_resource() {
    if !kubectl_present() {
        return;
    }
    let (ok, out, err) = kubectl(&serve(true), &["get", "all"]);
    assert!(ok, "{err}");
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains('/'))
        .collect();
    assert_eq!(
        names,
        ["pod/web", "service/web", "deployment.apps/web"],
        "{out}"
    );
}
