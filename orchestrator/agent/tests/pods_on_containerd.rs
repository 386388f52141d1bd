//! The agent with the REAL containerd, runc and CNI plugins, and a real in-process API server
//! driven by the real kubectl: a `kubectl run` pod goes Running with a pod IP and answers from the
//! host, env and volumes are visible inside, containers of a pod share localhost, deletion is
//! graceful and leaves nothing behind, and a restarted agent re-adopts its pods.
//! Skipped, with the reason printed, when not root or containerd/runc/CNI/busybox are missing.

mod common;
#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use clusterd_cri::{api, Runtime};
use common::node::{host, skip_reason, TestNode, BUSYBOX_IMAGE, INDEX_HTML};
use common::{
    container_id, container_status, create_pod, eventually, phase, wait_pod, RunningAgent,
};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::{kube_client, kubectl_binary, TestServer};

const WAIT: Duration = Duration::from_secs(60);

/// GET http://ip:port/ from the host; the body.
fn http_body(ip: &str, port: u16) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect_timeout(
        &format!("{ip}:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .ok_or(response)
}

async fn exec(node: &TestNode, id: &str, script: &str) -> String {
    let cmd = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    let out = node
        .runtime()
        .exec_sync(id, &cmd, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        out.exit_code,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_on_containerd_are_deleted_gracefully_and_re_adopted_after_an_agent_restart() {
    if let Some(reason) = skip_reason() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let Some(kubectl_path) = kubectl_binary() else {
        return;
    };
    let netns_before = host("ip", &["netns", "list"]);
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let kubectl = server.kubectl(&kubectl_path);
    let node = TestNode::start("cdagent0", "10.244.242.0/24").await;
    let node_name = "agent-ctr";
    let runtime = Arc::new(node.connect().await);
    let agent = RunningAgent::start(
        client.clone(),
        node.agent_config(node_name),
        runtime.clone(),
    );

    // The node turns Ready once the agent wrote the CNI config for its pod CIDR.
    let nodes: Api<Node> = Api::all(client.clone());
    eventually(WAIT, "node Ready", || async {
        let node = nodes
            .get_opt(node_name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no node")?;
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .cloned();
        match ready {
            Some(c) if c.status == "True" => Ok(node),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let info = nodes
        .get(node_name)
        .await
        .unwrap()
        .status
        .unwrap()
        .node_info
        .unwrap();
    assert!(
        info.container_runtime_version.starts_with("containerd://"),
        "{}",
        info.container_runtime_version
    );

    // `kubectl run`: Running with a pod IP from the node's CIDR, answering from the host.
    let overrides = json!({"spec": {"nodeName": node_name}}).to_string();
    kubectl.ok(&[
        "run",
        "web",
        "--image",
        BUSYBOX_IMAGE,
        "--image-pull-policy=IfNotPresent",
        "--restart=Never",
        "--overrides",
        &overrides,
        "--",
        "httpd",
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ]);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let web = wait_pod(&pods, "web", WAIT, "Running with an IP", |p| {
        phase(p) == "Running" && p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some()
    })
    .await;
    let web_ip = web.status.as_ref().unwrap().pod_ip.clone().unwrap();
    assert!(web_ip.starts_with("10.244.242."), "{web_ip}");
    let status = container_status(&web, "web").unwrap();
    assert!(
        status.image_id.starts_with("sha256:"),
        "{}",
        status.image_id
    );
    assert!(status
        .container_id
        .as_deref()
        .unwrap()
        .starts_with("containerd://"));
    let body = eventually(WAIT, "httpd answering on the pod IP", || async {
        http_body(&web_ip, 8080)
    })
    .await;
    assert_eq!(body, INDEX_HTML);
    let table = kubectl.ok(&["get", "pod", "web", "-o", "wide"]);
    assert!(
        table.contains("Running") && table.contains(&web_ip),
        "{table}"
    );
    let described = eventually(WAIT, "events in kubectl describe", || async {
        let text = kubectl.ok(&["describe", "pod", "web"]);
        if text.contains("Started container web") {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await;
    for expected in [
        "Running",
        "already present on machine",
        "Created container: web",
        &web_ip,
    ] {
        assert!(
            described.contains(expected),
            "{expected:?} missing from:\n{described}"
        );
    }

    // Env (values, ConfigMap/Secret keys, downward API, $(VAR)) and configMap/secret volumes.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    config_maps.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "settings"}, "data": {"greeting": "hello", "app.conf": "color=blue\n"}})).unwrap()).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    create_pod(&pods, json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "envy", "namespace": "default", "labels": {"app": "envy"}},
        "spec": {"nodeName": node_name, "terminationGracePeriodSeconds": 2, "containers": [{
            "name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
            "command": ["sleep", "3600"],
            "env": [
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "MESSAGE", "value": "$(GREETING) from $(POD_NAME)"},
            ],
            "volumeMounts": [
                {"name": "config", "mountPath": "/config", "readOnly": true},
                {"name": "secret", "mountPath": "/secret"},
                {"name": "info", "mountPath": "/info"},
                {"name": "scratch", "mountPath": "/scratch"},
            ],
        }],
        "volumes": [
            {"name": "config", "configMap": {"name": "settings"}},
            {"name": "secret", "secret": {"secretName": "creds", "defaultMode": 256}},
            {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "scratch", "emptyDir": {"medium": "Memory"}},
        ]},
    }))
    .await;
    let envy = wait_pod(&pods, "envy", WAIT, "Running", |p| phase(p) == "Running").await;
    let envy_id = container_id(&envy, "main").unwrap();
    let envy_ip = envy.status.as_ref().unwrap().pod_ip.clone().unwrap();
    let env = exec(
        &node,
        &envy_id,
        "echo $GREETING/$PASSWORD/$POD_NAME/$POD_IP/$MESSAGE/$KUBERNETES_SERVICE_HOST",
    )
    .await;
    assert_eq!(
        env.trim(),
        format!("hello/s3cret/envy/{envy_ip}/hello from envy/10.96.0.1")
    );
    let files = exec(
        &node,
        &envy_id,
        "cat /config/app.conf /secret/password /info/labels; echo; ls -l /secret/password",
    )
    .await;
    assert!(
        files.starts_with("color=blue\ns3cretapp=\"envy\"\n"),
        "{files}"
    );
    assert!(
        files.contains("-r--------"),
        "defaultMode 0400 applied: {files}"
    );
    let read_only = node
        .runtime()
        .exec_sync(
            &envy_id,
            &["touch".into(), "/config/x".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_ne!(read_only.exit_code, 0, "readOnly mount refuses writes");
    let namespace = exec(
        &node,
        &envy_id,
        "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace",
    )
    .await;
    assert_eq!(
        namespace, "default",
        "the service-account volume is mounted where in-cluster clients look"
    );
    let resolv = exec(&node, &envy_id, "cat /etc/resolv.conf").await;
    assert!(
        resolv.contains("nameserver 10.96.0.10")
            && resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local")
            && resolv.contains("ndots:5"),
        "{resolv}"
    );
    let mounts = exec(&node, &envy_id, "cat /proc/mounts").await;
    assert!(
        mounts.lines().any(|l| l.contains(" /scratch tmpfs")),
        "emptyDir medium Memory is a tmpfs: {mounts}"
    );

    // Containers of one pod share localhost.
    create_pod(&pods, json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "duo", "namespace": "default"},
        "spec": {"nodeName": node_name, "terminationGracePeriodSeconds": 2, "containers": [
            {"name": "server", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["httpd", "-f", "-p", "9090", "-h", "/www"],
             "ports": [{"name": "http", "containerPort": 9090, "hostPort": 19090}],
             "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}},
            {"name": "client", "image": BUSYBOX_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]},
        ]},
    }))
    .await;
    let duo = wait_pod(
        &pods,
        "duo",
        WAIT,
        "Running and Ready (readiness probe)",
        |p| phase(p) == "Running" && common::condition(p, "Ready"),
    )
    .await;
    let client_id = container_id(&duo, "client").unwrap();
    let fetched = exec(&node, &client_id, "wget -qO- http://127.0.0.1:9090/").await;
    assert_eq!(fetched, INDEX_HTML);
    // The hostPort answers on the node's addresses (the portmap plugin's DNAT).
    let gateway = "10.244.242.1";
    let through_host_port = eventually(WAIT, "hostPort 19090", || async {
        http_body(gateway, 19090)
    })
    .await;
    assert_eq!(through_host_port, INDEX_HTML);

    // The agent stops (as if killed) and a new one re-adopts: same containers, nothing restarted.
    let containers_before = runtime.list_containers(None).await.unwrap().len();
    agent.stop().await;
    assert_eq!(
        http_body(&web_ip, 8080).unwrap(),
        INDEX_HTML,
        "pods keep running without their agent"
    );
    let agent = RunningAgent::start(
        client.clone(),
        node.agent_config(node_name),
        runtime.clone(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (name, container, id) in [
        ("web", "web", container_id(&web, "web").unwrap()),
        ("envy", "main", envy_id.clone()),
        ("duo", "client", client_id.clone()),
    ] {
        let pod = wait_pod(&pods, name, WAIT, "Running", |p| phase(p) == "Running").await;
        assert_eq!(
            container_id(&pod, container).unwrap(),
            id,
            "{name} keeps its container"
        );
        assert_eq!(container_status(&pod, container).unwrap().restart_count, 0);
    }
    assert_eq!(
        runtime.list_containers(None).await.unwrap().len(),
        containers_before,
        "nothing started twice"
    );

    // Graceful deletion: SIGTERM within the grace period, sandbox and IP released, pod gone.
    let web_sandbox = runtime
        .list_pod_sandboxes(None)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.metadata.as_ref().is_some_and(|m| m.name == "web"))
        .unwrap()
        .id;
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    eventually(WAIT, "web deleted", || async {
        match pods.get_opt("web").await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|p| p.map(|p| p.status)))),
        }
    })
    .await;
    let gone = runtime.pod_sandbox_status(&web_sandbox).await;
    assert!(gone.as_ref().is_err_and(|e| e.is_not_found()), "{gone:?}");
    assert!(
        http_body(&web_ip, 8080).is_err(),
        "nothing answers on {web_ip} any more"
    );
    let lease = node
        .dir
        .path()
        .join("cni-ipam")
        .join("clusterd-cdagent0")
        .join(&web_ip);
    assert!(!lease.exists(), "IP lease released");

    for name in ["envy", "duo"] {
        pods.delete(name, &DeleteParams::default()).await.unwrap();
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
    assert!(
        http_body(gateway, 19090).is_err(),
        "the hostPort mapping is gone"
    );
    assert!(
        runtime.list_containers(None).await.unwrap().is_empty(),
        "no containers left"
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(&node.dir.path().display().to_string()),
        "no tmpfs left mounted"
    );
    assert!(
        !node
            .dir
            .path()
            .join("agent/pods")
            .join(envy.metadata.uid.as_deref().unwrap())
            .exists(),
        "pod directory removed"
    );
    agent.stop().await;
    let _ = api::ContainerState::ContainerRunning;
    node.stop().await;
    assert_eq!(
        host("ip", &["netns", "list"]),
        netns_before,
        "network namespaces left behind"
    );
}
