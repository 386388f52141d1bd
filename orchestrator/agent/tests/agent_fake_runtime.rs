//! The agent against a real in-process API server and the recording FakeRuntime: node
//! registration, lease, pod lifecycle, restart policies, back-off, graceful deletion, re-adoption.

mod common;
#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use clusterd_cri::{Call, FakeRuntime};
use common::{
    agent_config, condition, container_id, container_status, create_pod, eventually, phase,
    wait_pod, RunningAgent,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams};
use serde_json::json;
use support::{kube_client, TestServer};

const WAIT: Duration = Duration::from_secs(20);
const IMAGE: &str = "clusterd.local/busybox:test";

fn pod(name: &str, node: &str, restart: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "restartPolicy": restart, "terminationGracePeriodSeconds": 7,
            "containers": [{"name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}]},
    })
}

async fn setup(
    node: &str,
) -> (
    TestServer,
    kube::Client,
    Arc<FakeRuntime>,
    tempfile::TempDir,
) {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let runtime = Arc::new(FakeRuntime::new());
    runtime.add_image(IMAGE);
    let dir = tempfile::tempdir().unwrap();
    let _ = node;
    (server, client, runtime, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_registers_with_host_capacity_ready_condition_lease_and_pod_network() {
    let (_server, client, runtime, dir) = setup("node-reg").await;
    let mut config = agent_config("node-reg", dir.path());
    config.labels.insert("tier".into(), "edge".into());
    config.taints = clusterd_agent::parse_taints("dedicated=db:NoSchedule").unwrap();
    let agent = RunningAgent::start(client.clone(), config, runtime.clone());
    let nodes: Api<Node> = Api::all(client.clone());
    let node = eventually(WAIT, "node Ready", || async {
        let node = nodes
            .get_opt("node-reg")
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no node")?;
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .is_some_and(|c| c.status == "True");
        if ready {
            Ok(node)
        } else {
            Err(format!("{:?}", node.status))
        }
    })
    .await;
    let labels = node.metadata.labels.clone().unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "node-reg");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["tier"], "edge");
    let spec = node.spec.clone().unwrap();
    assert_eq!(spec.pod_cidr.as_deref(), Some("10.244.7.0/24"));
    assert_eq!(spec.taints.unwrap()[0].key, "dedicated");
    let status = node.status.unwrap();
    let cpus = std::thread::available_parallelism()
        .unwrap()
        .get()
        .to_string();
    let capacity = status.capacity.unwrap();
    assert_eq!(capacity["cpu"].0, cpus);
    assert_eq!(capacity["pods"].0, "110");
    assert!(capacity["memory"].0.ends_with("Ki"));
    let info = status.node_info.unwrap();
    assert_eq!(info.kubelet_version, "v1.32.0");
    assert_eq!(info.container_runtime_version, "fake://0.0.0");
    assert_eq!(info.operating_system, "linux");
    assert!(!info.kernel_version.is_empty());
    let addresses = status.addresses.unwrap();
    assert!(addresses
        .iter()
        .any(|a| a.type_ == "InternalIP" && a.address == "127.0.0.1"));
    assert_eq!(
        status
            .daemon_endpoints
            .unwrap()
            .kubelet_endpoint
            .unwrap()
            .port,
        10250
    );
    let kinds: Vec<String> = status
        .conditions
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c.type_, c.status))
        .collect();
    // The pressure conditions report this host as it is (kubelet's default thresholds).
    let pressure = clusterd_agent::node::Pressure::probe(&dir.path().join("agent"));
    let flag = |on: bool| if on { "True" } else { "False" };
    let expected = [
        format!("MemoryPressure={}", flag(pressure.memory)),
        format!("DiskPressure={}", flag(pressure.disk)),
        format!("PIDPressure={}", flag(pressure.pid)),
        "Ready=True".to_owned(),
    ];
    assert_eq!(kinds, expected);
    let conflist = std::fs::read_to_string(dir.path().join("net.d/10-clusterd.conflist")).unwrap();
    assert!(conflist.contains("10.244.7.0/24"), "{conflist}");

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first = eventually(WAIT, "lease", || async {
        leases
            .get_opt("node-reg")
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no lease".to_string())
    })
    .await;
    let spec = first.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("node-reg"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let renewed = spec.renew_time.unwrap().0;
    eventually(WAIT, "lease renewed", || async {
        let lease = leases.get("node-reg").await.map_err(|e| e.to_string())?;
        let again = lease
            .spec
            .and_then(|s| s.renew_time)
            .map(|t| t.0)
            .ok_or("no renewTime")?;
        if again > renewed {
            Ok(())
        } else {
            Err(format!("{again} not after {renewed}"))
        }
    })
    .await;
    agent.stop().await;
    assert!(runtime.calls().contains(&Call::Status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_policies_decide_running_succeeded_failed_and_crash_loop_back_off() {
    let (_server, client, runtime, dir) = setup("node-life").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-life", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for (name, policy) in [
        ("never-ok", "Never"),
        ("never-bad", "Never"),
        ("onfail", "OnFailure"),
        ("always", "Always"),
    ] {
        create_pod(&pods, pod(name, "node-life", policy)).await;
    }
    let running =
        |p: &Pod| phase(p) == "Running" && condition(p, "Ready") && condition(p, "Initialized");
    let mut ids = std::collections::BTreeMap::new();
    for name in ["never-ok", "never-bad", "onfail", "always"] {
        let pod = wait_pod(&pods, name, WAIT, "Running and Ready", running).await;
        let status = container_status(&pod, "main").unwrap();
        assert!(status.ready && status.started == Some(true));
        assert!(status.state.as_ref().unwrap().running.is_some());
        assert_eq!(status.image, IMAGE);
        assert!(pod.status.as_ref().unwrap().start_time.is_some());
        assert_eq!(
            pod.status.as_ref().unwrap().host_ip.as_deref(),
            Some("127.0.0.1")
        );
        ids.insert(name, container_id(&pod, "main").unwrap());
    }
    runtime.exit_container(&ids["never-ok"], 0);
    runtime.exit_container(&ids["never-bad"], 3);
    runtime.exit_container(&ids["onfail"], 0);
    let done = wait_pod(&pods, "never-ok", WAIT, "Succeeded", |p| {
        phase(p) == "Succeeded"
    })
    .await;
    let terminated = container_status(&done, "main")
        .unwrap()
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (0, Some("Completed"))
    );
    assert!(!condition(&done, "Ready"));
    let failed = wait_pod(&pods, "never-bad", WAIT, "Failed", |p| phase(p) == "Failed").await;
    let terminated = container_status(&failed, "main")
        .unwrap()
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (3, Some("Error"))
    );
    wait_pod(&pods, "onfail", WAIT, "Succeeded", |p| {
        phase(p) == "Succeeded"
    })
    .await;

    // Always: the first exit restarts at once, the next waits in CrashLoopBackOff.
    runtime.exit_container(&ids["always"], 1);
    let restarted = wait_pod(&pods, "always", WAIT, "restarted once", |p| {
        container_status(p, "main").is_some_and(|c| {
            c.restart_count == 1 && c.state.as_ref().is_some_and(|s| s.running.is_some())
        })
    })
    .await;
    let last = container_status(&restarted, "main")
        .unwrap()
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 1);
    let second = container_id(&restarted, "main").unwrap();
    assert_ne!(second, ids["always"]);
    runtime.exit_container(&second, 2);
    let backing_off = wait_pod(&pods, "always", WAIT, "CrashLoopBackOff", |p| {
        container_status(p, "main")
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            == Some("CrashLoopBackOff")
    })
    .await;
    assert_eq!(
        phase(&backing_off),
        "Running",
        "a restarting pod stays Running"
    );
    assert!(!condition(&backing_off, "Ready"));
    wait_pod(&pods, "always", WAIT, "restarted after the back-off", |p| {
        container_status(p, "main").is_some_and(|c| c.restart_count == 2 && c.ready)
    })
    .await;
    // Sandboxes of finished pods are stopped (their IPs released).
    let stopped = runtime
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::StopPodSandbox(_)))
        .count();
    assert!(stopped >= 3, "{stopped} sandboxes stopped");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_is_graceful_and_vanished_pods_are_removed() {
    let (_server, client, runtime, dir) = setup("node-del").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-del", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut graceful = pod("graceful", "node-del", "Always");
    graceful["spec"]["volumes"] = json!([{"name": "scratch", "emptyDir": {}}]);
    graceful["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "scratch", "mountPath": "/scratch"}]);
    create_pod(&pods, graceful).await;
    let running = wait_pod(&pods, "graceful", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    let id = container_id(&running, "main").unwrap();
    let uid = running.metadata.uid.clone().unwrap();
    assert!(dir
        .path()
        .join("agent/pods")
        .join(&uid)
        .join("volumes/empty-dir/scratch")
        .is_dir());
    pods.delete("graceful", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "pod gone from the API", || async {
        match pods.get_opt("graceful").await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let calls = runtime.calls();
    let stop = calls
        .iter()
        .position(
            |c| matches!(c, Call::StopContainer(c, grace) if *c == id && grace.as_secs() >= 6),
        )
        .expect("stopped with the grace period");
    let remove = calls
        .iter()
        .position(|c| matches!(c, Call::RemovePodSandbox(_)))
        .expect("sandbox removed");
    assert!(
        stop < remove,
        "containers stop before the sandbox goes: {calls:?}"
    );
    assert!(
        !dir.path().join("agent/pods").join(&uid).exists(),
        "pod directory removed"
    );

    // A pod force-deleted (grace 0) vanishes from the API: the agent removes what it ran.
    create_pod(&pods, pod("forced", "node-del", "Always")).await;
    wait_pod(&pods, "forced", WAIT, "Running", |p| phase(p) == "Running").await;
    let removed_before = runtime
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::RemovePodSandbox(_)))
        .count();
    pods.delete(
        "forced",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "forced pod's sandbox removed", || async {
        let removed = runtime
            .calls()
            .iter()
            .filter(|c| matches!(c, Call::RemovePodSandbox(_)))
            .count();
        if removed > removed_before {
            Ok(())
        } else {
            Err(format!("{removed} removals"))
        }
    })
    .await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_failures_back_off_then_recover_and_never_policy_waits() {
    let (_server, client, runtime, dir) = setup("node-img").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-img", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut spec = pod("never-pull", "node-img", "Always");
    spec["spec"]["containers"][0]["image"] = json!("clusterd.local/absent:1");
    spec["spec"]["containers"][0]["imagePullPolicy"] = json!("Never");
    create_pod(&pods, spec).await;
    let waiting = wait_pod(&pods, "never-pull", WAIT, "ErrImageNeverPull", |p| {
        container_status(p, "main")
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            == Some("ErrImageNeverPull")
    })
    .await;
    assert_eq!(phase(&waiting), "Pending");

    runtime.fail_next("PullImage", tonic::Code::Unavailable);
    let mut spec = pod("pull-later", "node-img", "Always");
    spec["spec"]["containers"][0]["image"] = json!("clusterd.local/remote:2");
    create_pod(&pods, spec).await;
    wait_pod(
        &pods,
        "pull-later",
        WAIT,
        "Running after a failed pull",
        |p| phase(p) == "Running",
    )
    .await;
    let pulls = runtime
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::PullImage(i) if i == "clusterd.local/remote:2"))
        .count();
    assert_eq!(pulls, 2, "one failed pull, one retry");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_re_adopts_its_pods_without_restarting_anything() {
    let (_server, client, runtime, dir) = setup("node-adopt").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-adopt", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    create_pod(&pods, pod("keeper", "node-adopt", "Always")).await;
    let first = wait_pod(&pods, "keeper", WAIT, "Running", |p| phase(p) == "Running").await;
    let first_id = container_id(&first, "main").unwrap();
    runtime.exit_container(&first_id, 1);
    let restarted = wait_pod(&pods, "keeper", WAIT, "restarted", |p| {
        container_status(p, "main").is_some_and(|c| c.restart_count == 1 && c.ready)
    })
    .await;
    let id = container_id(&restarted, "main").unwrap();
    agent.stop().await;

    // A sandbox of a pod that no longer exists is removed by the next agent.
    create_pod(&pods, pod("orphan", "node-adopt", "Always")).await;
    let calls_before = runtime.calls().len();
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-adopt", dir.path()),
        runtime.clone(),
    );
    wait_pod(&pods, "orphan", WAIT, "Running", |p| phase(p) == "Running").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = wait_pod(&pods, "keeper", WAIT, "still Running", |p| {
        phase(p) == "Running"
    })
    .await;
    assert_eq!(container_id(&after, "main").unwrap(), id, "same container");
    assert_eq!(
        container_status(&after, "main").unwrap().restart_count,
        1,
        "restart count kept"
    );
    let new_calls = &runtime.calls()[calls_before..];
    let sandboxes_run = new_calls
        .iter()
        .filter(|c| matches!(c, Call::RunPodSandbox(_)))
        .count();
    let starts = new_calls
        .iter()
        .filter(|c| matches!(c, Call::StartContainer(_)))
        .count();
    assert_eq!(
        (sandboxes_run, starts),
        (1, 1),
        "only the new pod started: {new_calls:?}"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_whose_sandbox_died_gets_a_new_one_and_its_containers_restart() {
    let (_server, client, runtime, dir) = setup("node-sbx").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-sbx", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    create_pod(&pods, pod("phoenix", "node-sbx", "Always")).await;
    let first = wait_pod(&pods, "phoenix", WAIT, "Running", |p| phase(p) == "Running").await;
    let first_id = container_id(&first, "main").unwrap();
    let sandbox = clusterd_cri::Runtime::list_pod_sandboxes(runtime.as_ref(), None)
        .await
        .unwrap()
        .remove(0)
        .id;
    // The pause process dies: the runtime reports the sandbox NotReady.
    clusterd_cri::Runtime::stop_pod_sandbox(runtime.as_ref(), &sandbox)
        .await
        .unwrap();
    let again = wait_pod(&pods, "phoenix", WAIT, "Running in a new sandbox", |p| {
        container_status(p, "main").is_some_and(|c| c.restart_count == 1 && c.ready)
    })
    .await;
    assert_ne!(container_id(&again, "main").unwrap(), first_id);
    let sandboxes_run = runtime
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::RunPodSandbox(_)))
        .count();
    assert_eq!(sandboxes_run, 2);
    assert!(runtime.calls().contains(&Call::RemovePodSandbox(sandbox)));
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_node_is_registered_again_and_a_down_runtime_makes_it_not_ready() {
    let (_server, client, runtime, dir) = setup("node-again").await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-again", dir.path()),
        runtime.clone(),
    );
    let nodes: Api<Node> = Api::all(client.clone());
    let ready = |node: &Node| {
        node.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| (c.status.clone(), c.message.clone().unwrap_or_default()))
    };
    let first = eventually(WAIT, "node Ready", || async {
        let node = nodes
            .get_opt("node-again")
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no node")?;
        match ready(&node) {
            Some((status, _)) if status == "True" => Ok(node),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    nodes
        .delete("node-again", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "node registered again", || async {
        let node = nodes
            .get_opt("node-again")
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no node")?;
        let fresh = node.metadata.uid != first.metadata.uid;
        match ready(&node) {
            Some((status, _)) if status == "True" && fresh => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // The runtime stops answering: the node turns NotReady and says why.
    runtime.fail_next("Status", tonic::Code::Unavailable);
    let message = eventually(WAIT, "node NotReady", || async {
        let node = nodes.get("node-again").await.map_err(|e| e.to_string())?;
        match ready(&node) {
            Some((status, message)) if status == "False" => Ok(message),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(message.contains("container runtime is down"), "{message}");
    agent.stop().await;
}
