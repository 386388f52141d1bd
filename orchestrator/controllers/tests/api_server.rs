//! The controllers (with the scheduler and a fake kubelet that marks pods Running and Ready)
//! against a real in-process clusterd API server, driven by the real kubectl: create, scale,
//! rolling `set image` observed step by step, `rollout undo`, `expose` with endpoints, and
//! cascading deletes.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use clusterd_controllers::{run_all, ControllersConfig};
use futures_util::future::join_all;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use support::{kube_client, kubectl_binary, wait_for, Kubectl, TestServer};

/// How long a test waits for the controllers to converge.
const WAIT: Duration = Duration::from_secs(60);

/// Marks bound pods Running and Ready with an IP and confirms deletions, like a kubelet would
/// (kwok-style), for pods on every node except `dead`; renews the node leases of `alive`.
async fn fake_kubelet(
    client: kube::Client,
    dead: Option<&'static str>,
    alive: &'static [&'static str],
) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let pods: Api<Pod> = Api::all(client.clone());
    let mut next_ip = 2u32;
    loop {
        for node in alive {
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": node, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": k8s_openapi::jiff::Timestamp::now().to_string()}});
            let _ = leases
                .patch(
                    node,
                    &PatchParams::apply("fake-kubelet").force(),
                    &Patch::Apply(&lease),
                )
                .await;
        }
        if let Ok(list) = pods.list(&ListParams::default()).await {
            let mut updates = Vec::new();
            for pod in list.items {
                if dead.is_some() && pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == dead
                {
                    continue;
                }
                if pod.metadata.deletion_timestamp.is_some() {
                    // The containers are "stopped": confirm the deletion.
                    let api: Api<Pod> = Api::namespaced(
                        client.clone(),
                        pod.metadata.namespace.as_deref().unwrap_or("default"),
                    );
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let _ = api
                        .delete(
                            &name,
                            &kube::api::DeleteParams {
                                grace_period_seconds: Some(0),
                                ..Default::default()
                            },
                        )
                        .await;
                    continue;
                }
                let bound = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_ref())
                    .is_some();
                let running =
                    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                if !bound || running || pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let ip = format!("10.244.{}.{}", next_ip / 250, next_ip % 250 + 2);
                next_ip += 1;
                let api: Api<Pod> = Api::namespaced(
                    client.clone(),
                    pod.metadata.namespace.as_deref().unwrap_or("default"),
                );
                let name = pod.metadata.name.clone().unwrap_or_default();
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let patch = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}, {"type": "PodScheduled", "status": "True"}]}});
                updates.push(async move {
                    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                });
            }
            join_all(updates).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn get(kubectl: &Kubectl, args: &[&str]) -> String {
    let output = kubectl.run(args);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn create_node(kubectl: &Kubectl, server: &TestServer, name: &str) {
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                   "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", name.len())}],
                   "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": k8s_openapi::jiff::Timestamp::now().to_string()}]}});
    let path = server.path(&format!("{name}.json"));
    std::fs::write(&path, node.to_string()).expect("write node");
    kubectl.ok(&["create", "-f", path.to_str().expect("utf-8 path")]);
}

/// Old and new ReplicaSet sizes of deployment `web`, oldest first, as `2,1`.
fn replica_set_sizes(kubectl: &Kubectl) -> String {
    get(
        kubectl,
        &[
            "get",
            "rs",
            "-l",
            "app=web",
            "--sort-by=.metadata.creationTimestamp",
            "-o",
            "jsonpath={.items[*].spec.replicas}",
        ],
    )
    .replace(' ', ",")
}

#[test]
fn deployments_roll_scale_undo_expose_and_cascade_through_kubectl() {
    let Some(binary) = kubectl_binary() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter("clusterd_controllers=info")
        .with_test_writer()
        .try_init();
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    create_node(&kubectl, &server, "node-a");
    create_node(&kubectl, &server, "node-b");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig.clone();
    runtime.spawn(async move {
        let client = kube_client(&kubeconfig).await;
        tokio::spawn(fake_kubelet(client.clone(), None, &[]));
        tokio::spawn(clusterd_scheduler::run(
            client.clone(),
            clusterd_scheduler::SchedulerConfig::default(),
        ));
        let config = ControllersConfig {
            identity: "server-a".into(),
            ..ControllersConfig::default()
        };
        run_all(client, config).await
    });

    // Leader election: we hold the lease.
    wait_for(WAIT, "the controllers lease", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "lease",
                "-n",
                "kube-system",
                "clusterd-controllers",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        ))
        .filter(|h| h == "server-a")
    });

    kubectl.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1",
        "--replicas=3",
    ]);
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert_eq!(
        get(
            &kubectl,
            &[
                "get",
                "pods",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].status.phase}"
            ]
        ),
        "Running Running Running"
    );

    kubectl.ok(&["scale", "deployment", "web", "--replicas=4"]);
    wait_for(WAIT, "4 ready replicas", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.status.readyReplicas}",
            ],
        ))
        .filter(|r| r == "4")
    });

    // Rolling update with maxSurge 1 / maxUnavailable 0, observed step by step.
    kubectl.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}"#,
    ]);
    kubectl.ok(&["set", "image", "deployment/web", "nginx=nginx:2"]);
    let mut seen = vec![replica_set_sizes(&kubectl)];
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.last().map(String::as_str) != Some("0,4") {
        assert!(
            Instant::now() < deadline,
            "rollout did not finish: {seen:?}"
        );
        let sizes = replica_set_sizes(&kubectl);
        if seen.last() != Some(&sizes) {
            seen.push(sizes);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for sizes in &seen {
        let total: i32 = sizes.split(',').filter_map(|n| n.parse::<i32>().ok()).sum();
        assert!(total <= 5, "never more than replicas + maxSurge: {seen:?}");
    }
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let history = kubectl.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");

    kubectl.ok(&["rollout", "undo", "deployment/web"]);
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert_eq!(
        get(
            &kubectl,
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}"
            ]
        ),
        "nginx:1"
    );
    assert_eq!(
        get(
            &kubectl,
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
            ]
        ),
        "3"
    );
    assert_eq!(
        get(&kubectl, &["get", "rs", "-l", "app=web", "-o", "name"])
            .lines()
            .count(),
        2,
        "undo reuses the first ReplicaSet"
    );

    // expose: ClusterIP and NodePort with endpoints from the ready pods.
    kubectl.ok(&[
        "expose",
        "deployment",
        "web",
        "--port=80",
        "--target-port=8080",
        "--type=NodePort",
    ]);
    let addresses = wait_for(WAIT, "4 endpoint addresses", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "endpoints",
                "web",
                "-o",
                "jsonpath={.subsets[*].addresses[*].ip}",
            ],
        ))
        .filter(|a| a.split_whitespace().count() == 4)
    });
    assert!(
        addresses
            .split_whitespace()
            .all(|ip| ip.starts_with("10.244.")),
        "{addresses}"
    );
    let slice_ports = wait_for(WAIT, "an EndpointSlice", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=web",
                "-o",
                "jsonpath={.items[*].ports[*].port}",
            ],
        ))
        .filter(|p| !p.is_empty())
    });
    assert_eq!(slice_ports, "8080");
    let node_port: i32 = get(
        &kubectl,
        &[
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ],
    )
    .parse()
    .expect("node port");
    assert!((30000..=32767).contains(&node_port));

    // At rest the controllers write nothing: no status or endpoint churn across several passes.
    let versions = || {
        get(
            &kubectl,
            &[
                "get",
                "deployment,rs,pods,endpoints,endpointslices,service",
                "-o",
                "jsonpath={.items[*].metadata.resourceVersion}",
            ],
        )
    };
    let before = versions();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(versions(), before, "objects changed while nothing happened");

    // Cascading delete: the ReplicaSets and pods go with the Deployment.
    kubectl.ok(&["delete", "deployment", "web"]);
    wait_for(WAIT, "the ReplicaSets and pods to be collected", || {
        let left = get(&kubectl, &["get", "rs,pods", "-l", "app=web", "-o", "name"]);
        left.is_empty().then_some(left)
    });
    runtime.shutdown_background();
}

/// Starts the API server with two nodes, the scheduler, the controllers with short node periods,
/// and a fake kubelet for every node but `dead`.
fn cluster(
    dead: Option<&'static str>,
    alive: &'static [&'static str],
) -> (TestServer, Kubectl, tokio::runtime::Runtime) {
    let binary = kubectl_binary().expect("kubectl checked by the caller");
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    create_node(&kubectl, &server, "node-a");
    create_node(&kubectl, &server, "node-b");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig.clone();
    runtime.spawn(async move {
        let client = kube_client(&kubeconfig).await;
        tokio::spawn(fake_kubelet(client.clone(), dead, alive));
        tokio::spawn(clusterd_scheduler::run(
            client.clone(),
            clusterd_scheduler::SchedulerConfig::default(),
        ));
        let config = ControllersConfig {
            identity: "server-a".into(),
            node_monitor_grace_period: Duration::from_secs(3),
            pod_eviction_timeout: Duration::from_secs(1),
            ..ControllersConfig::default()
        };
        run_all(client, config).await
    });
    (server, kubectl, runtime)
}

#[test]
fn pods_of_a_node_that_stops_heartbeating_are_replaced_on_another_node() {
    if kubectl_binary().is_none() {
        return;
    }
    let (server, kubectl, runtime) = cluster(Some("node-a"), &["node-b"]);
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "containers": [{"name": "nginx", "image": "nginx"}],
                "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 1}]}}}});
    let path = server.path("web.json");
    std::fs::write(&path, manifest.to_string()).expect("write manifest");
    kubectl.ok(&["create", "-f", path.to_str().expect("utf-8 path")]);
    wait_for(WAIT, "pods on node-a", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "pods",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].spec.nodeName}",
            ],
        ))
        .filter(|n| n.contains("node-a"))
    });
    // node-a never heartbeats: Unknown after 3 s, tainted, its pods evicted and replaced on node-b.
    let taint = wait_for(WAIT, "the unreachable taint", || {
        Some(get(
            &kubectl,
            &[
                "get",
                "node",
                "node-a",
                "-o",
                "jsonpath={.spec.taints[*].key}",
            ],
        ))
        .filter(|t| t.contains("node.kubernetes.io/unreachable"))
    });
    assert!(taint.contains("unreachable"));
    assert_eq!(
        get(
            &kubectl,
            &[
                "get",
                "node",
                "node-a",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"
            ]
        ),
        "Unknown"
    );
    assert_eq!(
        get(
            &kubectl,
            &["get", "node", "node-b", "-o", "jsonpath={.spec.taints}"]
        ),
        "",
        "node-b renews its lease"
    );
    wait_for(WAIT, "4 running pods on node-b", || {
        let nodes = get(&kubectl, &["get", "pods", "-l", "app=web", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[?(@.metadata.deletionTimestamp)].metadata.name} / {.items[*].spec.nodeName}"]);
        let ready_on_b = get(
            &kubectl,
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.status.readyReplicas}",
            ],
        );
        (ready_on_b == "4"
            && get(
                &kubectl,
                &[
                    "get",
                    "pods",
                    "-l",
                    "app=web",
                    "-o",
                    "jsonpath={.items[*].spec.nodeName}",
                ],
            )
            .matches("node-b")
            .count()
                >= 4)
            .then_some(nodes)
    });
    runtime.shutdown_background();
}

#[test]
fn deleting_a_namespace_removes_everything_in_it_and_orphaned_dependents_stay() {
    if kubectl_binary().is_none() {
        return;
    }
    let (_server, kubectl, runtime) = cluster(None, &["node-a", "node-b"]);
    wait_for(WAIT, "the default ServiceAccount", || {
        Some(get(
            &kubectl,
            &["get", "serviceaccount", "default", "-o", "name"],
        ))
        .filter(|s| !s.is_empty())
    });

    kubectl.ok(&["create", "namespace", "team"]);
    kubectl.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team",
        "--from-literal=a=b",
    ]);
    kubectl.ok(&[
        "create",
        "deployment",
        "api",
        "-n",
        "team",
        "--image=nginx",
        "--replicas=2",
    ]);
    kubectl.ok(&["expose", "deployment", "api", "-n", "team", "--port=80"]);
    wait_for(WAIT, "team's pods", || {
        Some(get(&kubectl, &["get", "pods", "-n", "team", "-o", "name"]))
            .filter(|p| p.lines().count() == 2)
    });
    kubectl.ok(&["delete", "namespace", "team", "--wait=false"]);
    wait_for(WAIT, "namespace team to be gone", || {
        let output = kubectl.run(&["get", "namespace", "team"]);
        (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
    });

    // Orphan propagation, by its contract: the API server marks the owner with the `orphan`
    // finalizer (`kubectl delete --cascade=orphan` does this once the API server maps
    // propagationPolicy to finalizers); the garbage collector frees the dependents, then lets go.
    kubectl.ok(&[
        "create",
        "deployment",
        "keep",
        "--image=nginx",
        "--replicas=2",
    ]);
    wait_for(WAIT, "keep's pods", || {
        Some(get(
            &kubectl,
            &["get", "pods", "-l", "app=keep", "-o", "name"],
        ))
        .filter(|p| p.lines().count() == 2)
    });
    let rs = get(&kubectl, &["get", "rs", "-l", "app=keep", "-o", "name"]);
    kubectl.ok(&[
        "patch",
        "deployment",
        "keep",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["orphan"]}}"#,
    ]);
    kubectl.ok(&["delete", "deployment", "keep", "--wait=false"]);
    wait_for(WAIT, "the Deployment to be gone", || {
        let output = kubectl.run(&["get", "deployment", "keep"]);
        (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
    });
    assert_eq!(
        get(
            &kubectl,
            &["get", &rs, "-o", "jsonpath={.metadata.ownerReferences}"]
        ),
        "",
        "the ReplicaSet is freed"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        get(&kubectl, &["get", &rs, "-o", "name"]),
        rs,
        "the orphaned ReplicaSet stays"
    );
    assert_eq!(
        get(&kubectl, &["get", "pods", "-l", "app=keep", "-o", "name"])
            .lines()
            .count(),
        2,
        "and keeps its pods"
    );
    runtime.shutdown_background();
}

#[test]
fn a_second_server_takes_over_the_lease_when_the_leader_dies() {
    if kubectl_binary().is_none() {
        return;
    }
    let binary = kubectl_binary().expect("checked");
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    let election = clusterd_controllers::leader_election::LeaderElectionConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
        ..Default::default()
    };
    let start = |identity: &'static str| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let kubeconfig = server.kubeconfig.clone();
        let leader_election = election.clone();
        runtime.spawn(async move {
            let config = ControllersConfig {
                identity: identity.into(),
                leader_election,
                ..ControllersConfig::default()
            };
            run_all(kube_client(&kubeconfig).await, config).await
        });
        runtime
    };
    let holder = || {
        get(
            &kubectl,
            &[
                "get",
                "lease",
                "-n",
                "kube-system",
                "clusterd-controllers",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
    };
    let a = start("server-a");
    wait_for(WAIT, "server-a to lead", || {
        Some(holder()).filter(|h| h == "server-a")
    });
    let b = start("server-b");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(holder(), "server-a", "exactly one leader while it renews");
    let killed = Instant::now();
    a.shutdown_background();
    wait_for(WAIT, "server-b to take over", || {
        Some(holder()).filter(|h| h == "server-b")
    });
    assert!(
        killed.elapsed() < Duration::from_secs(6),
        "handover within the lease period: {:?}",
        killed.elapsed()
    );
    b.shutdown_background();
}
