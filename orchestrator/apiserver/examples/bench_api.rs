//! API server latency through the real HTTPS API with kube-rs clients, for each datastore backend
//! (SQLite with fsync, the default; etcd-server started here on loopback in a temp dir): concurrent
//! and sequential pod writes, then full lists of 10,000 pods as JSON and as kubectl's Table.
//!
//! ```text
//! cargo run --release -p clusterd-apiserver --example bench_api \
//!     [-- --backend sqlite|etcd|all --creates 2000 --sequential 500 --list-pods 10000 --lists 20]
//! ```
//! The server runs in this process (same runtime as the clients), so the RSS figures are the
//! server's plus the clients'. The etcd figures need `etcd` (`apt-get install -y etcd-server`).

#[allow(dead_code)] // the benchmark uses only part of the store's test harness
#[path = "../../store/tests/support/etcd_server.rs"]
mod etcd_server;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use clusterd_apiserver::{ApiServer, ServerConfig};
use etcd_server::EtcdServer;
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;

const CLIENTS: usize = 32;
/// What kubectl 1.32 sends for `kubectl get pods`.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

struct Options {
    backends: Vec<&'static str>,
    creates: usize,
    sequential: usize,
    list_pods: usize,
    lists: usize,
}

fn options() -> Options {
    let mut options = Options {
        backends: vec!["sqlite", "etcd"],
        creates: 2000,
        sequential: 500,
        list_pods: 10_000,
        lists: 20,
    };
    let usage = || -> ! {
        eprintln!("usage: bench_api [--backend sqlite|etcd|all] [--creates N] [--sequential N] [--list-pods N] [--lists N]");
        std::process::exit(2);
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_else(|| usage());
        let number = value.parse::<usize>().ok().filter(|n| *n > 0);
        match (pair[0].as_str(), value, number) {
            ("--backend", "sqlite", _) => options.backends = vec!["sqlite"],
            ("--backend", "etcd", _) => options.backends = vec!["etcd"],
            ("--backend", "all", _) => {}
            ("--creates", _, Some(n)) => options.creates = n,
            ("--sequential", _, Some(n)) => options.sequential = n,
            ("--list-pods", _, Some(n)) => options.list_pods = n,
            ("--lists", _, Some(n)) => options.lists = n,
            _ => usage(),
        }
    }
    options
}

/// Latencies of one kind of request.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn time<T>(&mut self, started: Instant, value: T) -> T {
        self.0.push(started.elapsed());
        value
    }

    /// The `q` quantile (nearest rank), in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }

    fn summary(&self) -> String {
        format!(
            "p50 {:>8.1} ms  p99 {:>8.1} ms",
            self.quantile_ms(0.50),
            self.quantile_ms(0.99)
        )
    }
}

/// A Deployment's pod as the API server stores it once running: labels, owner, one container with
/// ports, resources, probes and env, and (written through `pods/status`) a Running status.
fn pod(name: &str, index: usize) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": "web", "pod-template-hash": "7d9c8b6f5", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-27T10:00:00Z"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9c8b6f5",
                "uid": "6f1e7a0c-1c1e-4f0e-9a43-0d9d7a7c1b2e", "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "containers": [{
                "name": "web",
                "image": "registry.example.com/web:1.27.3",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "POD_INDEX", "value": index.to_string()},
                        {"name": "LOG_LEVEL", "value": "info"}],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"}
                },
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
            }],
            "nodeName": format!("node-{}", index % 100)
        }
    }))
    .expect("pod template")
}

/// `pod`'s status once it runs.
fn running_status(index: usize) -> serde_json::Value {
    let ip = format!("10.244.{}.{}", index / 250 % 250, index % 250 + 2);
    let condition = |kind: &str| json!({"type": kind, "status": "True", "lastTransitionTime": "2026-11-27T10:00:05Z"});
    json!({
        "phase": "Running",
        "conditions": [condition("PodReadyToStartContainers"), condition("Initialized"),
                       condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
        "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
        "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": "2026-11-27T10:00:01Z",
        "qosClass": "Burstable",
        "containerStatuses": [{
            "name": "web", "ready": true, "started": true, "restartCount": 0,
            "image": "registry.example.com/web:1.27.3",
            "imageID": "registry.example.com/web@sha256:4b2f7e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
            "containerID": format!("containerd://{index:064x}"),
            "state": {"running": {"startedAt": "2026-11-27T10:00:04Z"}}
        }]
    })
}

async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("read admin kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("kube config from the admin kubeconfig");
    kube::Client::try_from(config).expect("kube client")
}

/// Creates `count` pods named `<prefix>-<i>` in `namespace` from 32 clients (one connection each);
/// with `status`, each is then given a Running status through `pods/status`. Returns creates per
/// second and the create latencies.
async fn create_pods(
    clients: &[kube::Client],
    namespace: &str,
    prefix: &str,
    count: usize,
    status: bool,
) -> (f64, Samples) {
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(client_index, client)| {
            let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                let mut samples = Samples::default();
                for index in (client_index..count).step_by(CLIENTS) {
                    let name = format!("{prefix}-{index}");
                    let begun = Instant::now();
                    let created = api.create(&PostParams::default(), &pod(&name, index)).await;
                    let mut created = samples.time(begun, created).unwrap_or_else(|e| {
                        panic!(
                            "create pod {namespace}/{name}: {e}",
                            namespace = api.namespace().unwrap_or_default()
                        )
                    });
                    if status {
                        created.status =
                            Some(serde_json::from_value(running_status(index)).expect("status"));
                        api.replace_status(&name, &PostParams::default(), &created)
                            .await
                            .unwrap_or_else(|e| panic!("replace status of pod {name}: {e}"));
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        all.0.extend(task.await.expect("client task").0);
    }
    (count as f64 / started.elapsed().as_secs_f64(), all)
}

/// One client, one request at a time: `count` creates, then `count` updates of those pods.
async fn sequential_writes(
    client: &kube::Client,
    namespace: &str,
    count: usize,
) -> (Samples, Samples) {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let (mut creates, mut updates) = (Samples::default(), Samples::default());
    let mut pods = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("seq-{index}");
        let begun = Instant::now();
        let created = api.create(&PostParams::default(), &pod(&name, index)).await;
        pods.push(
            creates
                .time(begun, created)
                .unwrap_or_else(|e| panic!("create pod {name}: {e}")),
        );
    }
    for mut pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        pod.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("bench/updated".into(), "true".into());
        let begun = Instant::now();
        let replaced = api.replace(&name, &PostParams::default(), &pod).await;
        updates
            .time(begun, replaced)
            .unwrap_or_else(|e| panic!("update pod {name}: {e}"));
    }
    (creates, updates)
}

/// GETs `path` with `accept` and reads the whole body; returns its size and, when asked, the
/// `metadata.continue` token.
async fn get(
    client: &kube::Client,
    path: &str,
    accept: &str,
    want_continue: bool,
) -> (usize, Option<String>) {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(kube::client::Body::empty())
        .expect("list request");
    let response = client
        .send(request)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("read body of GET {path}: {e}"))
        .to_bytes();
    assert!(
        status.is_success(),
        "GET {path}: {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    let token = want_continue.then(|| {
        #[derive(serde::Deserialize)]
        struct ListMeta {
            #[serde(rename = "continue")]
            token: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct List {
            metadata: ListMeta,
        }
        serde_json::from_slice::<List>(&body)
            .unwrap_or_else(|e| panic!("decode list metadata of GET {path}: {e}"))
            .metadata
            .token
            .filter(|t| !t.is_empty())
    });
    (body.len(), token.flatten())
}

/// Times `times` runs of `list`; returns the latencies and the bytes of the last response.
async fn time_lists<F, Fut>(times: usize, mut list: F) -> (Samples, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut samples = Samples::default();
    let mut bytes = 0;
    for _ in 0..times {
        let begun = Instant::now();
        bytes = list().await;
        samples.0.push(begun.elapsed());
    }
    (samples, bytes)
}

/// Where one list's time goes on the server side, in-process: the steps of the list handler
/// (`handlers::read::list`) run one by one on the server's state, each timed.
async fn list_breakdown(state: &clusterd_apiserver::state::ApiState, prefix: &str) -> String {
    use clusterd_apimachinery::registry::Registry;
    use clusterd_apimachinery::table::{to_table, IncludeObject};
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    let rss_start = memory_mib("VmRSS");
    let begun = Instant::now();
    let page = state
        .store
        .list(prefix, clusterd_store::ListOptions::latest())
        .await
        .unwrap_or_else(|e| panic!("list {prefix}: {e}"));
    let scan = ms(begun);
    let begun = Instant::now();
    let objects: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|kv| {
            clusterd_apiserver::objects::decode(kv)
                .expect("decode stored pod")
                .object
        })
        .collect();
    let decode = ms(begun);
    let rss_decoded = memory_mib("VmRSS");
    let registry = Registry::builtin();
    let pods = registry
        .get("", "v1", "pods")
        .expect("pods in the registry");
    let begun = Instant::now();
    let table = to_table(
        pods,
        &objects,
        time::OffsetDateTime::now_utc(),
        IncludeObject::Metadata,
    );
    let build = ms(begun);
    let rss_table = memory_mib("VmRSS");
    let begun = Instant::now();
    let table_bytes = serde_json::to_vec(&table).expect("encode table").len();
    let table_encode = ms(begun);
    drop(table);
    let begun = Instant::now();
    let mut list = serde_json::Map::new();
    list.insert("kind".into(), "PodList".into());
    list.insert("apiVersion".into(), "v1".into());
    list.insert("metadata".into(), json!({}));
    list.insert("items".into(), serde_json::Value::Array(objects));
    let list = serde_json::Value::Object(list);
    let begun_encode = Instant::now();
    let bytes = serde_json::to_vec(&list).expect("encode list").len();
    let encode = ms(begun_encode);
    drop(list);
    let assemble_encode_drop = ms(begun);
    let memory = format!(
        "; RSS grew {:.0} MiB with the values and decoded objects, {:.0} MiB more with the Table",
        rss_decoded - rss_start,
        rss_table - rss_decoded
    );
    format!(
        "store scan {scan:.0} ms ({} values), decode {decode:.0} ms; JSON encode {encode:.0} ms ({bytes} B; \
         with assembling and freeing {assemble_encode_drop:.0} ms); Table build {build:.0} ms, encode {table_encode:.0} ms ({table_bytes} B){memory}",
        page.items.len()
    )
}

/// `VmRSS` or `VmHWM` of this process in MiB.
fn memory_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux 4.0+), so the next reading is the peak from now on.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn bench_backend(backend: &str, datastore: Option<String>, options: &Options) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::new(dir.path());
    config.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    config.port = 0;
    config.datastore = datastore;
    let server = ApiServer::start(&config)
        .await
        .unwrap_or_else(|e| panic!("start the api server on {backend}: {e}"));
    let kubeconfig = server.kubeconfig_path().to_owned();
    let state = server.state();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(kube_client(&kubeconfig).await);
    }
    let namespaces: Api<Namespace> = Api::all(clients[0].clone());
    for name in ["bench-concurrent", "bench-sequential"] {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
    }

    println!("{backend}:");
    let (rate, creates) =
        create_pods(&clients, "bench-concurrent", "c", options.creates, false).await;
    println!(
        "  {:<44} {rate:>7.0} creates/s  {}",
        format!("pod creates, {CLIENTS} clients, {}", options.creates),
        creates.summary()
    );
    let (creates, updates) =
        sequential_writes(&clients[0], "bench-sequential", options.sequential).await;
    println!(
        "  {:<44} {:>17}  {}",
        format!("pod creates, 1 client, {}", options.sequential),
        "",
        creates.summary()
    );
    println!(
        "  {:<44} {:>17}  {}",
        format!("pod updates, 1 client, {}", options.sequential),
        "",
        updates.summary()
    );

    let started = Instant::now();
    let (rate, _) = create_pods(&clients, "default", "web", options.list_pods, true).await;
    println!(
        "  {:<44} {:>7.0} pods/s    ({:.1} s)",
        format!(
            "{} pods created + status, {CLIENTS} clients",
            options.list_pods
        ),
        rate,
        started.elapsed().as_secs_f64()
    );
    let rss_before = memory_mib("VmRSS");
    reset_peak_memory();
    let client = &clients[0];
    let path = "/api/v1/namespaces/default/pods";
    let (json_lists, json_bytes) = time_lists(options.lists, || async {
        get(client, path, "application/json", false).await.0
    })
    .await;
    let (table_lists, table_bytes) = time_lists(options.lists, || async {
        get(client, path, TABLE_ACCEPT, false).await.0
    })
    .await;
    // What `kubectl get pods` really does: Table pages of 500.
    let (paged_lists, paged_bytes) = time_lists(options.lists, || async {
        let mut bytes = 0;
        let mut token: Option<String> = None;
        loop {
            let page = match &token {
                None => format!("{path}?limit=500"),
                Some(t) => format!(
                    "{path}?limit=500&continue={}",
                    form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
                ),
            };
            let (size, next) = get(client, &page, TABLE_ACCEPT, true).await;
            bytes += size;
            match next {
                Some(next) => token = Some(next),
                None => break bytes,
            }
        }
    })
    .await;
    let peak = memory_mib("VmHWM");
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "  {:<44} {:>7.1} MiB     {}",
        format!("list {} pods, JSON, {}x", options.list_pods, options.lists),
        mib(json_bytes),
        json_lists.summary()
    );
    println!(
        "  {:<44} {:>7.1} MiB     {}",
        format!("list {} pods, Table, {}x", options.list_pods, options.lists),
        mib(table_bytes),
        table_lists.summary()
    );
    println!(
        "  {:<44} {:>7.1} MiB     {}",
        format!(
            "list {} pods, Table, pages of 500, {}x",
            options.list_pods, options.lists
        ),
        mib(paged_bytes),
        paged_lists.summary()
    );
    println!("  process RSS before the lists {rss_before:.1} MiB, peak during them {peak:.1} MiB (server and clients)");

    println!(
        "  in-process steps of one list: {}",
        list_breakdown(&state, "/registry/core/pods/default/").await
    );

    drop(clients);
    let _ = stop.send(());
    serving
        .await
        .expect("server task")
        .unwrap_or_else(|e| panic!("serve on {backend}: {e}"));
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "API server over HTTPS, kube-rs clients; {} cores; p99 of {} lists is their maximum",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.lists
    );
    runtime.block_on(async {
        for backend in &options.backends {
            match *backend {
                "sqlite" => bench_backend("sqlite (fsync)", None, &options).await,
                _ => {
                    let Some(etcd) = EtcdServer::start() else {
                        println!("etcd: skipped, install it with `apt-get install -y etcd-server`");
                        continue;
                    };
                    let url = format!("etcd://{}", etcd.client_address());
                    bench_backend("etcd 3.4 (local, single member)", Some(url), &options).await;
                    drop(etcd);
                }
            }
        }
    });
}
