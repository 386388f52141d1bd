use serde_json::{json, Value};
use time::OffsetDateTime;

use super::*;
use crate::registry::Registry;

mod objects;
mod workloads;

fn now() -> OffsetDateTime {
    age::parse_time("2024-05-01T12:00:00Z").unwrap()
}

fn table(group: &str, resource: &str, objects: &[Value]) -> Value {
    let registry = Registry::builtin();
    let info = registry
        .resources()
        .iter()
        .find(|r| r.group == group && r.resource == resource)
        .unwrap();
    to_table(info, objects, now(), IncludeObject::Metadata)
}

fn cells(group: &str, resource: &str, object: Value) -> Vec<Value> {
    let t = table(group, resource, &[object]);
    t["rows"][0]["cells"].as_array().unwrap().clone()
}

fn headers(group: &str, resource: &str) -> Vec<(String, i64)> {
    let t = table(group, resource, &[]);
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pod(status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "sidecar", "image": "busybox"}], "nodeName": "node1"},
        "status": status
    })
}

#[test]
fn pod_columns_match_upstream_with_wide_ones_at_priority_one() {
    let h = headers("", "pods");
    let expected = [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ];
    assert_eq!(h, expected.map(|(n, p)| (n.to_owned(), p)));
    let t = table("", "pods", &[]);
    assert_eq!(t["columnDefinitions"][0]["format"], "name");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
}

#[test]
fn running_pod_shows_ready_count_restarts_with_last_restart_age() {
    let c = cells(
        "",
        "pods",
        pod(json!({
            "phase": "Running",
            "podIPs": [{"ip": "10.244.0.7"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 2, "state": {"running": {"startedAt": "2024-05-01T11:55:00Z"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}}},
                {"name": "sidecar", "ready": false, "restartCount": 0, "state": {"running": {}}}
            ]
        })),
    );
    assert_eq!(
        c,
        [
            json!("web"),
            json!("1/2"),
            json!("Running"),
            json!("2 (5m ago)"),
            json!("60m"),
            json!("10.244.0.7"),
            json!("node1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn waiting_reason_wins_over_phase() {
    let c = cells(
        "",
        "pods",
        pod(json!({
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "sidecar", "ready": true, "restartCount": 0, "state": {"running": {}}}
            ]
        })),
    );
    assert_eq!(c[2], "CrashLoopBackOff");
    assert_eq!(c[1], "1/2");
    assert_eq!(c[3], "4", "no last termination time, so no age suffix");
}

#[test]
fn init_containers_report_progress_and_failures() {
    let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "seed", "restartCount": 0, "state": {"running": {}}}
    ]}));
    p["spec"]["initContainers"] = json!([{"name": "migrate"}, {"name": "seed"}]);
    assert_eq!(cells("", "pods", p.clone())[2], "Init:1/2");

    p["status"]["initContainerStatuses"][1]["state"] =
        json!({"waiting": {"reason": "CrashLoopBackOff"}});
    assert_eq!(cells("", "pods", p.clone())[2], "Init:CrashLoopBackOff");

    p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 3}});
    assert_eq!(cells("", "pods", p.clone())[2], "Init:ExitCode:3");

    p["status"]["initContainerStatuses"][1]["state"] =
        json!({"waiting": {"reason": "PodInitializing"}});
    assert_eq!(cells("", "pods", p)[2], "Init:1/2");
}

#[test]
fn succeeded_pod_is_completed_with_row_condition() {
    let t = table(
        "",
        "pods",
        &[pod(json!({
            "phase": "Succeeded",
            "containerStatuses": [
                {"name": "app", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "sidecar", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]
        }))],
    );
    assert_eq!(t["rows"][0]["cells"][2], "Completed");
    assert_eq!(t["rows"][0]["cells"][1], "0/2");
    assert_eq!(t["rows"][0]["conditions"][0]["type"], "Completed");
    assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Succeeded");
}

#[test]
fn completed_container_beside_running_one_reads_not_ready() {
    let c = cells(
        "",
        "pods",
        pod(json!({
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "sidecar", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]
        })),
    );
    assert_eq!(c[2], "NotReady");
}

#[test]
fn deleting_pod_is_terminating_unless_finished() {
    let mut p = pod(json!({"phase": "Running"}));
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(cells("", "pods", p.clone())[2], "Terminating");
    p["status"]["phase"] = json!("Succeeded");
    assert_eq!(cells("", "pods", p)[2], "Succeeded");
}

#[test]
fn pending_pod_without_statuses_shows_phase_and_none_cells() {
    let mut p = pod(json!({"phase": "Pending"}));
    p["spec"].as_object_mut().unwrap().remove("nodeName");
    let c = cells("", "pods", p);
    assert_eq!(c[1..4], [json!("0/2"), json!("Pending"), json!("0")]);
    assert_eq!(c[5..8], [json!("<none>"), json!("<none>"), json!("<none>")]);
}

#[test]
fn readiness_gates_and_sidecars_count() {
    let mut p = pod(json!({"phase": "Running", "conditions": [
        {"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "False"}
    ], "initContainerStatuses": [
        {"name": "proxy", "ready": true, "started": true, "restartCount": 1, "state": {"running": {}}}
    ]}));
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]);
    p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
    let c = cells("", "pods", p);
    assert_eq!(c[1], "1/3", "the ready sidecar counts, and in the total");
    assert_eq!(c[3], "1");
    assert_eq!(c[8], "1/2");
}

fn service(spec: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-04-29T12:00:00Z"}, "spec": spec, "status": {"loadBalancer": {}}})
}

#[test]
fn node_port_service_cells() {
    let c = cells(
        "",
        "services",
        service(json!({
            "type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "selector": {"tier": "fe", "app": "web"}
        })),
    );
    assert_eq!(
        c,
        [
            json!("web"),
            json!("NodePort"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("2d"),
            json!("app=web,tier=fe")
        ]
    );
}

#[test]
fn load_balancer_external_ip_pending_then_assigned() {
    let mut svc = service(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
    );
    assert_eq!(cells("", "services", svc.clone())[3], "<pending>");
    svc["status"]["loadBalancer"]["ingress"] =
        json!([{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]);
    assert_eq!(cells("", "services", svc)[3], "203.0.113.9,lb.example.com");
}

#[test]
fn headless_and_external_name_services() {
    let headless =
        service(json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}));
    let c = cells("", "services", headless);
    assert_eq!(c[2..5], [json!("None"), json!("<none>"), json!("<none>")]);
    assert_eq!(c[6], "<none>");
    let external = service(json!({"type": "ExternalName", "externalName": "db.example.com"}));
    assert_eq!(cells("", "services", external)[3], "db.example.com");
}

fn node(conditions: Value, labels: Value, unschedulable: bool) -> Value {
    json!({"metadata": {"name": "node1", "creationTimestamp": "2024-04-20T12:00:00Z", "labels": labels},
           "spec": {"unschedulable": unschedulable},
           "status": {"conditions": conditions,
                      "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node1"}],
                      "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                   "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.6.20"}}})
}

#[test]
fn node_status_roles_and_wide_cells() {
    let c = cells(
        "",
        "nodes",
        node(
            json!([{"type": "Ready", "status": "True"}]),
            json!({"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "node1"}),
            true,
        ),
    );
    assert_eq!(
        c,
        [
            json!("node1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane"),
            json!("11d"),
            json!("v1.32.0"),
            json!("172.18.0.2"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0-18-amd64"),
            json!("containerd://1.6.20")
        ]
    );
    let not_ready = cells(
        "",
        "nodes",
        node(
            json!([{"type": "Ready", "status": "Unknown"}]),
            json!({}),
            false,
        ),
    );
    assert_eq!(not_ready[1..3], [json!("NotReady"), json!("<none>")]);
    let unknown = cells(
        "",
        "nodes",
        node(
            json!([]),
            json!({"kubernetes.io/role": "worker", "node-role.kubernetes.io/infra": ""}),
            false,
        ),
    );
    assert_eq!(unknown[1..3], [json!("Unknown"), json!("infra,worker")]);
}

#[test]
fn row_objects_follow_include_object() {
    let registry = Registry::builtin();
    let info = registry.get("", "v1", "configmaps").unwrap();
    let cm = json!({"metadata": {"name": "x", "namespace": "default", "labels": {"a": "b"}}, "data": {"k": "v"}});
    let meta = to_table(
        info,
        std::slice::from_ref(&cm),
        now(),
        IncludeObject::Metadata,
    );
    assert_eq!(
        meta["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                 "metadata": {"name": "x", "namespace": "default", "labels": {"a": "b"}}})
    );
    let full = to_table(
        info,
        std::slice::from_ref(&cm),
        now(),
        IncludeObject::Object,
    );
    assert_eq!(full["rows"][0]["object"]["kind"], "ConfigMap");
    assert_eq!(full["rows"][0]["object"]["apiVersion"], "v1");
    assert_eq!(full["rows"][0]["object"]["data"]["k"], "v");
    let none = to_table(info, &[cm], now(), IncludeObject::None);
    assert!(none["rows"][0].get("object").is_none());
}

#[test]
fn include_object_parameter_and_accept_header() {
    assert_eq!(IncludeObject::parse(None).unwrap(), IncludeObject::Metadata);
    assert_eq!(
        IncludeObject::parse(Some("Object")).unwrap(),
        IncludeObject::Object
    );
    assert_eq!(
        IncludeObject::parse(Some("None")).unwrap(),
        IncludeObject::None
    );
    let err = IncludeObject::parse(Some("All")).unwrap_err();
    assert_eq!(crate::status::StatusError::from(err).code, 400);
    assert!(accepts_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
    assert!(accepts_table(TABLE_MEDIA_TYPE));
    assert!(!accepts_table("application/json"));
}

#[test]
fn custom_resources_use_printer_columns() {
    let mut registry = Registry::builtin();
    let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true}]}});
    registry.register_crd(&crd).unwrap();
    let info = registry.get("example.com", "v1", "widgets").unwrap();
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "creationTimestamp": "2024-05-01T11:59:00Z"},
        "spec": {"replicas": 3, "color": "blue"},
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
    let columns = [
        json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}),
        json!({"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1}),
        json!({"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}),
        json!({"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"}),
        json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
    ];
    let t = to_custom_table(
        info,
        &columns,
        std::slice::from_ref(&widget),
        now(),
        IncludeObject::Metadata,
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["w1", 3, "blue", "True", null, "60s"])
    );
    assert_eq!(t["columnDefinitions"][2]["priority"], 1);
    let default = to_table(info, &[widget], now(), IncludeObject::Metadata);
    assert_eq!(default["rows"][0]["cells"], json!(["w1", "60s"]));
    assert_eq!(default["columnDefinitions"][1]["name"], "Age");
}

#[test]
fn watch_tables_carry_columns_only_first() {
    let registry = Registry::builtin();
    let info = registry.get("", "v1", "namespaces").unwrap();
    let ns = json!({"metadata": {"name": "dev", "creationTimestamp": "2024-05-01T11:59:00Z"}, "status": {"phase": "Active"}});
    let first = to_watch_table(info, &ns, now(), IncludeObject::Metadata, true);
    assert_eq!(first["columnDefinitions"].as_array().unwrap().len(), 3);
    assert_eq!(first["rows"][0]["cells"], json!(["dev", "Active", "60s"]));
    let later = to_watch_table(info, &ns, now(), IncludeObject::Metadata, false);
    assert_eq!(later["columnDefinitions"], json!([]));
    assert_eq!(later["rows"].as_array().unwrap().len(), 1);
}
