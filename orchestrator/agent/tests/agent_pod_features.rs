//! Init containers, native sidecars, probes, env and volume rendering and node credentials,
//! with the recording FakeRuntime and a real in-process API server.

mod common;
#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use clusterd_agent::pods::env::{container_env, Objects};
use clusterd_cri::{Call, ExecOutput, FakeRuntime};
use common::{
    agent_config, condition, container_id, container_status, create_pod, phase, wait_pod,
    RunningAgent,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::json;
use support::{kube_client, TestServer};

const WAIT: Duration = Duration::from_secs(20);
const IMAGE: &str = "clusterd.local/busybox:test";

async fn setup() -> (
    TestServer,
    kube::Client,
    Arc<FakeRuntime>,
    tempfile::TempDir,
) {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let runtime = Arc::new(FakeRuntime::new());
    runtime.add_image(IMAGE);
    (server, client, runtime, tempfile::tempdir().unwrap())
}

fn init_status<'a>(
    pod: &'a Pod,
    name: &str,
) -> Option<&'a k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .init_container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
}

fn created(runtime: &FakeRuntime, name: &str) -> bool {
    runtime
        .calls()
        .iter()
        .any(|c| matches!(c, Call::CreateContainer(_, n) if n == name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_containers_run_in_order_and_sidecars_keep_running() {
    let (_server, client, runtime, dir) = setup().await;
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-init", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let c = |name: &str| json!({"name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent"});
    let mut sidecar = c("logger");
    sidecar["restartPolicy"] = json!("Always");
    create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "staged", "namespace": "default"},
        "spec": {"nodeName": "node-init", "initContainers": [c("first"), sidecar, c("second")], "containers": [c("app")]}})).await;
    let pod = wait_pod(&pods, "staged", WAIT, "first init running", |p| {
        init_status(p, "first")
            .is_some_and(|s| s.state.as_ref().is_some_and(|s| s.running.is_some()))
    })
    .await;
    assert_eq!(phase(&pod), "Pending");
    assert!(!condition(&pod, "Initialized"));
    assert!(
        !created(&runtime, "logger") && !created(&runtime, "app"),
        "nothing after the running init container"
    );
    let waiting = container_status(&pod, "app")
        .unwrap()
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("PodInitializing"));

    let first = init_status(&pod, "first")
        .unwrap()
        .container_id
        .clone()
        .unwrap()
        .trim_start_matches("containerd://")
        .to_owned();
    runtime.exit_container(&first, 0);
    let pod = wait_pod(&pods, "staged", WAIT, "second init running", |p| {
        init_status(p, "second")
            .is_some_and(|s| s.state.as_ref().is_some_and(|s| s.running.is_some()))
    })
    .await;
    let logger = init_status(&pod, "logger").unwrap();
    assert!(
        logger.state.as_ref().unwrap().running.is_some(),
        "the sidecar runs before the next init container"
    );
    assert!(!created(&runtime, "app"));
    let second = init_status(&pod, "second")
        .unwrap()
        .container_id
        .clone()
        .unwrap()
        .trim_start_matches("containerd://")
        .to_owned();
    runtime.exit_container(&second, 0);
    let pod = wait_pod(&pods, "staged", WAIT, "Running and Initialized", |p| {
        phase(p) == "Running" && condition(p, "Initialized") && condition(p, "Ready")
    })
    .await;
    assert!(
        init_status(&pod, "logger")
            .unwrap()
            .state
            .as_ref()
            .unwrap()
            .running
            .is_some(),
        "the sidecar keeps running"
    );
    let done = init_status(&pod, "first")
        .unwrap()
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (done.exit_code, done.reason.as_deref()),
        (0, Some("Completed"))
    );

    // A failing init container under restartPolicy Never fails the pod; its containers never start.
    create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken-init", "namespace": "default"},
        "spec": {"nodeName": "node-init", "restartPolicy": "Never", "initContainers": [c("setup")], "containers": [c("never-started")]}})).await;
    let pod = wait_pod(&pods, "broken-init", WAIT, "init running", |p| {
        init_status(p, "setup").is_some_and(|s| s.container_id.is_some())
    })
    .await;
    let setup = init_status(&pod, "setup")
        .unwrap()
        .container_id
        .clone()
        .unwrap()
        .trim_start_matches("containerd://")
        .to_owned();
    runtime.exit_container(&setup, 1);
    wait_pod(&pods, "broken-init", WAIT, "Failed", |p| {
        phase(p) == "Failed"
    })
    .await;
    assert!(!created(&runtime, "never-started"));
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_its_probe_and_a_failing_liveness_probe_restarts_the_container() {
    let (_server, client, runtime, dir) = setup().await;
    runtime.set_exec_output(ExecOutput {
        exit_code: 0,
        ..Default::default()
    });
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-probe", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let probe = json!({"exec": {"command": ["check"]}, "periodSeconds": 1, "failureThreshold": 1});
    create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed", "namespace": "default"},
        "spec": {"nodeName": "node-probe", "terminationGracePeriodSeconds": 3, "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
            "readinessProbe": probe, "livenessProbe": {"exec": {"command": ["alive"]}, "periodSeconds": 1, "failureThreshold": 2}}]}})).await;
    let ready = wait_pod(&pods, "probed", WAIT, "Ready", |p| condition(p, "Ready")).await;
    let first = container_id(&ready, "app").unwrap();
    assert!(runtime
        .calls()
        .iter()
        .any(|c| matches!(c, Call::ExecSync(id, cmd) if *id == first && cmd == &["check"])));

    // Every probe fails now: not Ready at once, restarted after two liveness failures.
    runtime.set_exec_output(ExecOutput {
        exit_code: 1,
        ..Default::default()
    });
    let unready = wait_pod(&pods, "probed", WAIT, "not Ready", |p| {
        !condition(p, "Ready")
    })
    .await;
    assert_eq!(phase(&unready), "Running");
    let restarted = wait_pod(&pods, "probed", WAIT, "restarted by liveness", |p| {
        container_status(p, "app").is_some_and(|c| c.restart_count >= 1)
    })
    .await;
    assert_ne!(container_id(&restarted, "app").unwrap(), first);
    assert!(runtime.calls().iter().any(|c| matches!(c, Call::StopContainer(id, grace) if *id == first && *grace == Duration::from_secs(3))));
    runtime.set_exec_output(ExecOutput {
        exit_code: 0,
        ..Default::default()
    });
    wait_pod(&pods, "probed", WAIT, "Ready again", |p| {
        condition(p, "Ready")
    })
    .await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_resolves_config_maps_secrets_env_from_and_optional_references() {
    let (_server, client, _runtime, dir) = setup().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    config_maps
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "cm"}, "data": {"MODE": "fast", "LEVEL": "3"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "sec"}, "stringData": {"TOKEN": "t0k"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default", "uid": "u-1"},
        "spec": {"nodeName": "n", "containers": [{"name": "c", "image": IMAGE,
            "resources": {"limits": {"memory": "64Mi"}},
            "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}, {"secretRef": {"name": "sec"}}, {"configMapRef": {"name": "absent", "optional": true}}],
            "env": [
                {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "LEVEL"}}},
                {"name": "MISSING", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "nope", "optional": true}}},
                {"name": "MEMORY_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                {"name": "COMBINED", "value": "$(CM_MODE)-$(LEVEL)-$(TOKEN)-$(UNKNOWN)"},
            ]}]}}))
    .unwrap();
    let config = agent_config("n", dir.path());
    let mut objects = Objects::new(client.clone(), "default");
    let container = pod.spec.as_ref().unwrap().containers[0].clone();
    let env = container_env(
        &mut objects,
        &config,
        &pod,
        &container,
        "10.244.0.9",
        (2, 1 << 30),
    )
    .await
    .unwrap();
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("CM_MODE"), Some("fast"));
    assert_eq!(get("TOKEN"), Some("t0k"));
    assert_eq!(get("LEVEL"), Some("3"));
    assert_eq!(get("MISSING"), None);
    assert_eq!(get("MEMORY_MI"), Some("64"));
    assert_eq!(get("UID"), Some("u-1"));
    assert_eq!(get("COMBINED"), Some("fast-3-t0k-$(UNKNOWN)"));
    assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.96.0.1"));

    let mut broken = container.clone();
    broken.env = Some(vec![serde_json::from_value(
        json!({"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "absent"}}}),
    )
    .unwrap()]);
    broken.env_from = None;
    let error = container_env(&mut objects, &config, &pod, &broken, "", (2, 1 << 30))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("key absent of configmap cm not found") && error.contains("pod default/p"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_volumes_get_a_service_account_token_the_ca_and_pod_fields() {
    let (_server, client, runtime, dir) = setup().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.get("default").await.unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let _ = accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "robot"}})).unwrap(),
        )
        .await;
    let mut config = agent_config("node-vol", dir.path());
    config.cluster_ca =
        Some(b"-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n".to_vec());
    let agent = RunningAgent::start(client.clone(), config, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "in-cluster", "namespace": "default", "labels": {"app": "x"}},
        "spec": {"nodeName": "node-vol", "serviceAccountName": "robot", "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
        "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ]}}]}})).await;
    wait_pod(&pods, "in-cluster", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    let volume = dir
        .path()
        .join("agent/pods")
        .join(pod.metadata.uid.as_deref().unwrap())
        .join("volumes/projected/kube-api-access-abcde");
    let token = std::fs::read_to_string(volume.join("token")).unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(std::fs::read_to_string(volume.join("ca.crt"))
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    assert_eq!(
        std::fs::read_to_string(volume.join("namespace")).unwrap(),
        "default"
    );

    // A pod without one gets the service-account volume the agent adds (the API server's
    // admission does not), so in-cluster clients find their credentials.
    let _ = accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "default"}})).unwrap(),
        )
        .await;
    let plain = create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"nodeName": "node-vol", "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}]}})).await;
    wait_pod(&pods, "plain", WAIT, "Running", |p| phase(p) == "Running").await;
    let injected = dir
        .path()
        .join("agent/pods")
        .join(plain.metadata.uid.as_deref().unwrap())
        .join("volumes/projected/kube-api-access-clusterd");
    assert_eq!(
        std::fs::read_to_string(injected.join("token"))
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert!(std::fs::read_to_string(injected.join("ca.crt"))
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    assert_eq!(
        std::fs::read_to_string(injected.join("namespace")).unwrap(),
        "default"
    );
    let opted_out = create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "opted-out", "namespace": "default"},
        "spec": {"nodeName": "node-vol", "automountServiceAccountToken": false, "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}]}})).await;
    wait_pod(&pods, "opted-out", WAIT, "Running", |p| {
        phase(p) == "Running"
    })
    .await;
    assert!(!dir
        .path()
        .join("agent/pods")
        .join(opted_out.metadata.uid.as_deref().unwrap())
        .join("volumes")
        .exists());
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_client_talks_to_the_server_with_a_pem_identity() {
    let (server, _client, _runtime, _dir) = setup().await;
    let file = kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let decode = |text: &str| {
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap(),
        )
        .unwrap()
    };
    let cluster = file.clusters[0].cluster.clone().unwrap();
    let user = serde_json::to_value(&file.auth_infos[0].auth_info).unwrap();
    let ca = decode(cluster.certificate_authority_data.as_deref().unwrap());
    let cert = decode(user["client-certificate-data"].as_str().unwrap());
    let key = decode(user["client-key-data"].as_str().unwrap());
    let client = clusterd_agent::node_client(cluster.server.as_deref().unwrap(), &ca, &cert, &key)
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    assert!(namespaces.get("kube-node-lease").await.is_ok());
    // Trusting something other than the cluster CA, the server is refused.
    let wrong_trust =
        clusterd_agent::node_client(cluster.server.as_deref().unwrap(), &cert, &cert, &key)
            .await
            .unwrap();
    let refused: Api<Namespace> = Api::all(wrong_trust);
    assert!(refused.get("kube-node-lease").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_map_updates_reach_the_volume_of_a_running_pod() {
    let (_server, client, runtime, dir) = setup().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = |value: &str| {
        serde_json::from_value::<ConfigMap>(
            json!({"metadata": {"name": "live"}, "data": {"setting": value}}),
        )
        .unwrap()
    };
    config_maps
        .create(&PostParams::default(), &cm("one"))
        .await
        .unwrap();
    let agent = RunningAgent::start(
        client.clone(),
        agent_config("node-cm", dir.path()),
        runtime.clone(),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = create_pod(&pods, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader", "namespace": "default"},
        "spec": {"nodeName": "node-cm", "automountServiceAccountToken": false, "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"name": "live", "mountPath": "/etc/live"}]}],
        "volumes": [{"name": "live", "configMap": {"name": "live"}}]}})).await;
    let running = wait_pod(&pods, "reader", WAIT, "Running", |p| phase(p) == "Running").await;
    let file = dir
        .path()
        .join("agent/pods")
        .join(pod.metadata.uid.as_deref().unwrap())
        .join("volumes/configmap/live/setting");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one");
    let mut updated = config_maps.get("live").await.unwrap();
    updated.data = Some([("setting".to_owned(), "two".to_owned())].into());
    config_maps
        .replace("live", &PostParams::default(), &updated)
        .await
        .unwrap();
    common::eventually(WAIT, "the new value in the volume", || async {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text == "two" {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    let still = wait_pod(&pods, "reader", WAIT, "Running", |p| phase(p) == "Running").await;
    assert_eq!(
        container_id(&still, "c"),
        container_id(&running, "c"),
        "no restart for a volume update"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_secrets_give_registry_credentials() {
    let (_server, client, _runtime, _dir) = setup().await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let docker_config = json!({"auths": {"registry.example:5000": {"username": "robot", "password": "pw", "auth": "cm9ib3Q6cHc="}}}).to_string();
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson",
                "stringData": {".dockerconfigjson": docker_config}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default"},
        "spec": {"imagePullSecrets": [{"name": "missing"}, {"name": "regcred"}], "containers": []}}))
    .unwrap();
    let mut objects = Objects::new(client.clone(), "default");
    let auth = clusterd_agent::pods::images::pull_auth(
        &mut objects,
        &pod,
        "registry.example:5000/team/app:1",
    )
    .await
    .unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("robot", "pw")
    );
    assert_eq!(auth.server_address, "registry.example:5000");
    let other =
        clusterd_agent::pods::images::pull_auth(&mut objects, &pod, "other.example/app:1").await;
    assert!(other.is_none(), "credentials only go to their registry");
}
