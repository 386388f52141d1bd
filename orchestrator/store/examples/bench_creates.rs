//! Creates per second with 32 concurrent clients, for each backend (median of several runs), with
//! every write durable (SQLite: WAL + synchronous=FULL; etcd: its own fsynced WAL).
//!
//! ```text
//! cargo run --release -p clusterd-store --example bench_creates [-- --creates 8000 --runs 5]
//! ```
//! The etcd figures need the `etcd` binary (`apt-get install -y etcd-server`); a local etcd is started
//! on random ports in a temporary directory.

#[allow(dead_code)] // the benchmark uses only part of the test harness
#[path = "../tests/support/etcd_server.rs"]
mod etcd_server;

use std::time::{Duration, Instant};

use clusterd_store::{Bytes, EtcdConfig, EtcdStore, SqliteConfig, SqliteStore, Store};
use etcd_server::EtcdServer;

const CLIENTS: usize = 32;
/// About the size of a small Kubernetes object.
const VALUE_BYTES: usize = 1024;

struct Options {
    creates: usize,
    runs: usize,
}

fn options() -> Options {
    let mut options = Options {
        creates: 8000,
        runs: 5,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let number = pair
            .get(1)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0);
        match (pair[0].as_str(), number) {
            ("--creates", Some(n)) => options.creates = n,
            ("--runs", Some(n)) => options.runs = n,
            _ => {
                eprintln!("usage: bench_creates [--creates N] [--runs N]");
                std::process::exit(2);
            }
        }
    }
    options
}

/// Runs `creates` creates from 32 concurrent tasks; returns creates per second.
async fn measure<S: Store + Clone + 'static>(store: &S, prefix: &str, creates: usize) -> f64 {
    let value = Bytes::from(vec![b'x'; VALUE_BYTES]);
    let per_client = creates.div_ceil(CLIENTS);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (store, value, prefix) = (store.clone(), value.clone(), prefix.to_owned());
            tokio::spawn(async move {
                for i in 0..per_client {
                    let key = format!("{prefix}c{client}/k{i}");
                    store.create(&key, value.clone()).await.expect("create");
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client task");
    }
    (per_client * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn report(backend: &str, figures: Vec<f64>, extra: &str) {
    let runs: Vec<String> = figures.iter().map(|f| format!("{f:.0}")).collect();
    println!(
        "{backend:>6}: median {:>7.0} creates/s with {CLIENTS} clients (runs: {}){extra}",
        median(figures),
        runs.join(", ")
    );
}

async fn bench_sqlite(options: &Options) {
    let mut figures = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..options.runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("state.db")))
            .await
            .expect("open sqlite");
        figures.push(measure(&store, "/bench/", options.creates).await);
        let stats = store.commit_stats();
        batches.push(stats.writes as f64 / stats.transactions.max(1) as f64);
        store.close().await.expect("close sqlite");
    }
    let extra = format!("; {:.1} writes per fsynced commit", median(batches));
    report("sqlite", figures, &extra);
}

async fn bench_etcd(options: &Options) {
    let Some(server) = EtcdServer::start() else {
        println!("  etcd: skipped, install it with `apt-get install -y etcd-server`");
        return;
    };
    let config = EtcdConfig {
        endpoints: vec![server.client_url()],
        tls: None,
    };
    let mut store = None;
    for _ in 0..100 {
        if let Ok(connected) = EtcdStore::connect(config.clone()).await {
            store = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(store) = store else {
        println!("  etcd: could not connect; log:\n{}", server.log());
        return;
    };
    let mut figures = Vec::new();
    for run in 0..options.runs {
        figures.push(measure(&store, &format!("/bench/run{run}/"), options.creates).await);
    }
    report("etcd", figures, " (etcd 3.4, local, single member)");
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "{} creates of {VALUE_BYTES}-byte values per run, {} runs, {} cores",
        options.creates,
        options.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    runtime.block_on(async {
        bench_sqlite(&options).await;
        bench_etcd(&options).await;
    });
}
