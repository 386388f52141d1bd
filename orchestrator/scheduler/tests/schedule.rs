//! The pure scheduling path: snapshot + schedule, with the explanations users see in `kubectl describe`.

use clusterd_scheduler::{schedule, ClusterSnapshot, PodInfo, Scheduler};
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{json, Value};

fn node(name: &str, cpu: &str, extra: Value) -> Node {
    let mut value = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}
    });
    merge(&mut value, extra);
    serde_json::from_value(value).unwrap()
}

fn pod(name: &str, cpu: &str, extra: Value) -> PodInfo {
    let mut value = json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    });
    merge(&mut value, extra);
    let pod: Pod = serde_json::from_value(value).unwrap();
    PodInfo::from_pod(&pod).unwrap()
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

fn cluster(nodes: Vec<Node>) -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::new();
    for n in &nodes {
        snapshot.upsert_node(n).unwrap();
    }
    snapshot
}

fn control_plane_taint() -> Value {
    json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}})
}

#[test]
fn a_pod_that_fits_nowhere_is_explained_like_upstream() {
    let mut snapshot = cluster(vec![
        node("cp", "4", control_plane_taint()),
        node("w1", "1", json!({})),
        node("w2", "1", json!({})),
    ]);
    snapshot.add_pod(pod("busy", "500m", json!({})), "w1");
    let why = schedule(&pod("big", "2", json!({})), &snapshot).unwrap_err();
    assert_eq!(
        why.to_string(),
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
         2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
}

#[test]
fn no_nodes_at_all_says_so() {
    let why = schedule(&pod("p", "1", json!({})), &ClusterSnapshot::new()).unwrap_err();
    assert_eq!(why.to_string(), "no nodes available to schedule pods");
}

#[test]
fn each_filter_rejects_with_its_upstream_reason() {
    let cases: Vec<(&str, Node, PodInfo, &str)> = vec![
        (
            "cordoned",
            node("n", "4", json!({"spec": {"unschedulable": true}})),
            pod("p", "1", json!({})),
            "node(s) were unschedulable",
        ),
        (
            "not ready",
            node(
                "n",
                "4",
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            ),
            pod("p", "1", json!({})),
            "node(s) were not ready",
        ),
        (
            "node selector",
            node("n", "4", json!({})),
            pod("p", "1", json!({"spec": {"nodeSelector": {"disk": "ssd"}}})),
            "node(s) didn't match Pod's node affinity/selector",
        ),
        (
            "required node affinity",
            node("n", "4", json!({})),
            pod(
                "p",
                "1",
                json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}}),
            ),
            "node(s) didn't match Pod's node affinity/selector",
        ),
        (
            "memory",
            node("n", "4", json!({})),
            pod(
                "p",
                "1",
                json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "9Gi"}}}]}}),
            ),
            "Insufficient memory",
        ),
        (
            "pod count",
            node("n", "4", json!({"status": {"allocatable": {"pods": "0"}}})),
            pod("p", "1", json!({})),
            "Too many pods",
        ),
        (
            "taint value",
            node(
                "n",
                "4",
                json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]}}),
            ),
            pod("p", "1", json!({})),
            "node(s) had untolerated taint {dedicated: gpu}",
        ),
        (
            "anti-affinity to itself",
            node("n", "4", json!({})),
            pod(
                "p",
                "1",
                json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}),
            ),
            "node(s) didn't match pod affinity rules",
        ),
    ];
    for (name, n, p, reason) in cases {
        let snapshot = cluster(vec![n]);
        let why = schedule(&p, &snapshot).unwrap_err();
        assert_eq!(why.reasons["n"], vec![reason.to_string()], "case {name}");
    }
}

#[test]
fn tolerations_let_pods_onto_tainted_and_cordoned_nodes() {
    let snapshot = cluster(vec![node("cp", "4", control_plane_taint())]);
    let tolerating = pod(
        "p",
        "1",
        json!({"spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    assert_eq!(schedule(&tolerating, &snapshot).unwrap(), "cp");
}

#[test]
fn host_ports_conflict_only_on_the_same_protocol_and_port() {
    let mut snapshot = cluster(vec![node("n1", "4", json!({})), node("n2", "4", json!({}))]);
    let with_port = |name: &str, port: i32, protocol: &str| {
        pod(
            name,
            "100m",
            json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": port, "protocol": protocol}]}]}}),
        )
    };
    snapshot.add_pod(with_port("a", 8080, "TCP"), "n1");
    assert_eq!(
        schedule(&with_port("b", 8080, "TCP"), &snapshot).unwrap(),
        "n2"
    );
    snapshot.add_pod(with_port("c", 8080, "TCP"), "n2");
    let why = schedule(&with_port("d", 8080, "TCP"), &snapshot).unwrap_err();
    assert!(
        why.to_string()
            .contains("2 node(s) didn't have free ports for the requested pod ports"),
        "{why}"
    );
    assert!(schedule(&with_port("e", 8080, "UDP"), &snapshot).is_ok());
}

#[test]
fn least_allocated_prefers_the_emptier_node() {
    let mut snapshot = cluster(vec![
        node("full", "4", json!({})),
        node("empty", "4", json!({})),
    ]);
    snapshot.add_pod(pod("x", "3", json!({})), "full");
    assert_eq!(
        schedule(&pod("p", "500m", json!({})), &snapshot).unwrap(),
        "empty"
    );
}

#[test]
fn a_replica_sets_pods_spread_across_nodes() {
    let mut snapshot = cluster(
        (1..=3)
            .map(|i| node(&format!("n{i}"), "8", json!({})))
            .collect(),
    );
    let owned = |name: &str| {
        pod(
            name,
            "100m",
            json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1", "controller": true}]}}),
        )
    };
    let mut placed = Vec::new();
    for i in 0..6 {
        let p = owned(&format!("web-{i}"));
        let node = schedule(&p, &snapshot).unwrap();
        snapshot.add_pod(p, &node);
        placed.push(node);
    }
    for n in ["n1", "n2", "n3"] {
        assert_eq!(placed.iter().filter(|p| *p == n).count(), 2, "{placed:?}");
    }
}

#[test]
fn required_anti_affinity_puts_replicas_on_different_hosts_and_explains_the_rest() {
    let mut snapshot = cluster(vec![node("n1", "8", json!({})), node("n2", "8", json!({}))]);
    let anti = |name: &str| {
        pod(
            name,
            "100m",
            json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}),
        )
    };
    let first = schedule(&anti("a"), &snapshot).unwrap();
    snapshot.add_pod(anti("a"), &first);
    let second = schedule(&anti("b"), &snapshot).unwrap();
    assert_ne!(first, second);
    snapshot.add_pod(anti("b"), &second);
    let why = schedule(&anti("c"), &snapshot).unwrap_err();
    assert!(
        why.to_string()
            .contains("2 node(s) didn't satisfy existing pods anti-affinity rules"),
        "{why}"
    );
    // A pod without anti-affinity but matching the label is also kept away by the existing pods.
    assert!(schedule(&pod("plain", "100m", json!({})), &snapshot).is_err());
}

#[test]
fn required_pod_affinity_follows_the_matching_pod() {
    let mut snapshot = cluster(vec![node("n1", "8", json!({})), node("n2", "8", json!({}))]);
    snapshot.add_pod(
        pod("db", "100m", json!({"metadata": {"labels": {"app": "db"}}})),
        "n2",
    );
    let follower = pod(
        "app",
        "100m",
        json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}),
    );
    assert_eq!(schedule(&follower, &snapshot).unwrap(), "n2");
}

#[test]
fn hard_topology_spread_on_zones_keeps_skew_within_max() {
    let zone = |z: &str| json!({"metadata": {"labels": {"topology.kubernetes.io/zone": z}}});
    let mut snapshot = cluster(vec![
        node("a1", "8", zone("a")),
        node("a2", "8", zone("a")),
        node("b1", "8", zone("b")),
    ]);
    let spread = |name: &str| {
        pod(
            name,
            "100m",
            json!({"spec": {"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]}}),
        )
    };
    snapshot.add_pod(spread("x"), "a1");
    assert_eq!(schedule(&spread("y"), &snapshot).unwrap(), "b1");
    let why = schedule(&spread("z"), &cluster(vec![node("plain", "8", json!({}))])).unwrap_err();
    assert!(why.to_string().contains("missing required label"), "{why}");
}

#[test]
fn preferred_node_affinity_wins_among_feasible_nodes() {
    let snapshot = cluster(vec![
        node("n1", "8", json!({})),
        node("n2", "8", json!({"metadata": {"labels": {"disk": "ssd"}}})),
    ]);
    let p = pod(
        "p",
        "100m",
        json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}}}),
    );
    assert_eq!(schedule(&p, &snapshot).unwrap(), "n2");
}

#[test]
fn sampling_finds_a_node_in_a_large_cluster_and_rotates_the_start() {
    let snapshot = cluster(
        (0..500)
            .map(|i| node(&format!("n{i:03}"), "8", json!({})))
            .collect(),
    );
    let mut scheduler = Scheduler::new();
    let first = scheduler
        .schedule(&pod("a", "100m", json!({})), &snapshot)
        .unwrap();
    let second = scheduler
        .schedule(&pod("b", "100m", json!({})), &snapshot)
        .unwrap();
    assert_ne!(
        first, second,
        "equal nodes: the rotating start spreads ties"
    );
    assert_eq!(clusterd_scheduler::feasible_nodes_to_find(1000, None), 420);
    assert_eq!(clusterd_scheduler::feasible_nodes_to_find(50, None), 50);
}
