//! Container lifecycle with the REAL containerd and runc: preStop and SIGTERM within the grace
//! period, real exit codes and CrashLoopBackOff, liveness restarts, cgroup limits and the
//! security context. Skipped, with the reason printed, when not root or containerd is missing.

mod common;
#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterd_cri::Runtime;
use common::node::{skip_reason, TestNode, BUSYBOX_IMAGE};
use common::{
    container_id, container_status, create_pod, eventually, phase, wait_pod, RunningAgent,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use support::{kube_client, TestServer};

const WAIT: Duration = Duration::from_secs(60);

fn busybox(name: &str, command: &[&str]) -> serde_json::Value {
    json!({"name": name, "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": command})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_restarts_limits_and_security_context_on_containerd() {
    if let Some(reason) = skip_reason() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let node = TestNode::start("cdagent1", "10.244.244.0/24").await;
    let runtime = Arc::new(node.connect().await);
    let agent = RunningAgent::start(
        client.clone(),
        node.agent_config("agent-life"),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let shared = node.dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let pod = |name: &str, restart: &str, containers: serde_json::Value| {
        json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "agent-life", "restartPolicy": restart, "terminationGracePeriodSeconds": 5, "containers": containers,
                "volumes": [{"name": "shared", "hostPath": {"path": shared.display().to_string(), "type": "Directory"}}]},
        })
    };

    // preStop runs first, then SIGTERM reaches the process, which exits within the grace period.
    let mut graceful = busybox("main", &["sh", "-c", "trap 'echo term >> /shared/events; exit 0' TERM; echo started >> /shared/events; while true; do sleep 0.1; done"]);
    graceful["lifecycle"] =
        json!({"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /shared/events"]}}});
    graceful["volumeMounts"] = json!([{"name": "shared", "mountPath": "/shared"}]);
    create_pod(&pods, pod("graceful", "Always", json!([graceful]))).await;
    wait_pod(&pods, "graceful", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    eventually(WAIT, "container started", || async {
        let events = std::fs::read_to_string(shared.join("events")).unwrap_or_default();
        if events.contains("started") {
            Ok(())
        } else {
            Err(events)
        }
    })
    .await;
    let deleting = Instant::now();
    pods.delete("graceful", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "graceful deleted", || async {
        match pods.get_opt("graceful").await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|p| p.map(|p| p.status)))),
        }
    })
    .await;
    let took = deleting.elapsed();
    assert_eq!(
        std::fs::read_to_string(shared.join("events")).unwrap(),
        "started\nprestop\nterm\n"
    );
    assert!(
        took < Duration::from_secs(4),
        "the process exited on SIGTERM, no SIGKILL wait: {took:?}"
    );

    // A process ignoring SIGTERM is killed when the grace period ends.
    let stubborn = busybox(
        "main",
        &["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
    );
    let mut spec = pod("stubborn", "Always", json!([stubborn]));
    spec["spec"]["terminationGracePeriodSeconds"] = json!(2);
    create_pod(&pods, spec).await;
    wait_pod(&pods, "stubborn", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    let deleting = Instant::now();
    pods.delete("stubborn", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "stubborn deleted", || async {
        match pods.get_opt("stubborn").await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|p| p.map(|p| p.status)))),
        }
    })
    .await;
    let took = deleting.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "SIGKILL after the 2 s grace period: {took:?}"
    );

    // Real exit codes: Never fails with the code; Always crash-loops with back-off.
    create_pod(
        &pods,
        pod(
            "exit3",
            "Never",
            json!([busybox("main", &["sh", "-c", "exit 3"])]),
        ),
    )
    .await;
    let failed = wait_pod(&pods, "exit3", WAIT, "Failed", |p| phase(p) == "Failed").await;
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
    assert!(terminated.started_at.is_some() && terminated.finished_at.is_some());
    create_pod(
        &pods,
        pod("done", "OnFailure", json!([busybox("main", &["true"])])),
    )
    .await;
    let done = wait_pod(&pods, "done", WAIT, "Succeeded", |p| {
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
    create_pod(
        &pods,
        pod(
            "crasher",
            "Always",
            json!([busybox("main", &["sh", "-c", "sleep 0.2; exit 1"])]),
        ),
    )
    .await;
    let looping = wait_pod(
        &pods,
        "crasher",
        WAIT,
        "CrashLoopBackOff after restarts",
        |p| {
            container_status(p, "main").is_some_and(|c| {
                c.restart_count >= 1
                    && c.state
                        .as_ref()
                        .and_then(|s| s.waiting.as_ref())
                        .and_then(|w| w.reason.as_deref())
                        == Some("CrashLoopBackOff")
            })
        },
    )
    .await;
    let last = container_status(&looping, "main")
        .unwrap()
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 1);
    assert_eq!(phase(&looping), "Running");

    // A failing liveness probe restarts the container; limits and the security context apply.
    let mut checked = busybox("main", &["sh", "-c", "touch /tmp/healthy; sleep 3600"]);
    checked["livenessProbe"] = json!({"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1});
    checked["resources"] = json!({"limits": {"memory": "64Mi", "cpu": "500m"}});
    checked["securityContext"] =
        json!({"runAsUser": 1000, "runAsGroup": 3000, "readOnlyRootFilesystem": false});
    create_pod(&pods, pod("checked", "Always", json!([checked]))).await;
    let running = wait_pod(&pods, "checked", WAIT, "Running", |p| {
        phase(p) == "Running" && common::condition(p, "Ready")
    })
    .await;
    let id = container_id(&running, "main").unwrap();
    let exec = |cmd: &'static str| {
        let runtime = runtime.clone();
        let id = id.clone();
        async move {
            let out = runtime
                .exec_sync(
                    &id,
                    &["sh".into(), "-c".into(), cmd.into()],
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            (
                out.exit_code,
                String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            )
        }
    };
    assert_eq!(exec("id -u; id -g").await, (0, "1000\n3000".to_owned()));
    let (_, memory) = exec("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max").await;
    assert_eq!(memory, (64u64 << 20).to_string());
    let (_, quota) = exec("cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max").await;
    assert_eq!(quota, "50000");
    assert_eq!(exec("rm /tmp/healthy").await.0, 0);
    let restarted = wait_pod(
        &pods,
        "checked",
        WAIT,
        "restarted by its liveness probe",
        |p| container_status(p, "main").is_some_and(|c| c.restart_count >= 1),
    )
    .await;
    assert_ne!(container_id(&restarted, "main").unwrap(), id);

    let mut readonly = busybox("main", &["sleep", "3600"]);
    readonly["securityContext"] =
        json!({"readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}});
    create_pod(&pods, pod("readonly", "Always", json!([readonly]))).await;
    let pod_ro = wait_pod(&pods, "readonly", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    let ro_id = container_id(&pod_ro, "main").unwrap();
    let write = runtime
        .exec_sync(
            &ro_id,
            &["touch".into(), "/newfile".into()],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_ne!(write.exit_code, 0, "read-only root filesystem");
    let caps = runtime
        .exec_sync(
            &ro_id,
            &[
                "sh".into(),
                "-c".into(),
                "grep CapEff /proc/self/status".into(),
            ],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&caps.stdout).contains("0000000000000000"),
        "every capability dropped: {}",
        String::from_utf8_lossy(&caps.stdout)
    );

    for name in ["exit3", "done", "crasher", "checked", "readonly"] {
        pods.delete(
            name,
            &DeleteParams {
                grace_period_seconds: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    eventually(WAIT, "every pod deleted", || async {
        let left = pods
            .list(&Default::default())
            .await
            .map_err(|e| e.to_string())?
            .items
            .len();
        let sandboxes = runtime
            .list_pod_sandboxes(None)
            .await
            .map_err(|e| e.to_string())?
            .len();
        if left == 0 && sandboxes == 0 {
            Ok(())
        } else {
            Err(format!("{left} pods, {sandboxes} sandboxes"))
        }
    })
    .await;
    agent.stop().await;
    node.stop().await;
}
