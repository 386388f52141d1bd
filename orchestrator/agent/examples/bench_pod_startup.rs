//! Pod startup latency with a cached image against the REAL containerd: an in-process API
//! server, a hermetic containerd and the agent; N pods (default 50, or the first argument) are
//! created one after another and each is timed from its create request until the API shows it
//! Running. Prints the median and p99. Needs root, containerd, runc, CNI plugins and busybox-static.
//!
//! `cargo run -p clusterd-agent --example bench_pod_startup --release -- 50`

#[path = "../tests/common/node.rs"]
mod node;
#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterd_agent::Agent;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Some(reason) = node::skip_reason() {
        eprintln!("cannot run the benchmark here: {reason}");
        std::process::exit(2);
    }
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let server = support::TestServer::start();
    let client = support::kube_client(&server.kubeconfig).await;
    let test_node = node::TestNode::start("cdbench0", "10.244.243.0/24").await;
    let runtime = Arc::new(test_node.connect().await);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = Agent::with_shared_runtime(test_node.agent_config("bench"), runtime.clone());
    let task = tokio::spawn(agent.run(client.clone(), async {
        let _ = stopped.await;
    }));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let running =
        |pod: &Pod| pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");

    // One warm-up pod waits for the node's network to be ready.
    let mut timings = Vec::with_capacity(count);
    for i in 0..=count {
        let name = format!("bench-{i}");
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"nodeName": "bench", "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "main", "image": node::BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}]},
        }))
        .unwrap();
        let started = Instant::now();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        loop {
            if pods.get(&name).await.is_ok_and(|p| running(&p)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{name} did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if i > 0 {
            timings.push(started.elapsed());
        }
    }
    timings.sort();
    let median = timings[timings.len() / 2];
    let p99 = timings[((timings.len() * 99).div_ceil(100)).saturating_sub(1)];
    println!(
        "pod startup (create -> Running, cached image, {count} pods): median {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms",
        median.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        timings[0].as_secs_f64() * 1000.0,
        timings[timings.len() - 1].as_secs_f64() * 1000.0,
    );

    for i in 0..=count {
        let _ = pods
            .delete(&format!("bench-{i}"), &DeleteParams::default())
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while pods
        .list(&Default::default())
        .await
        .map(|l| l.items.len())
        .unwrap_or(0)
        > 0
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    let _ = task.await;
    test_node.stop().await;
}
