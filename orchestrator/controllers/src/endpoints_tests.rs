use serde_json::json;

use super::*;
use crate::testing::{object, state};

fn service(target_port: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "web", "namespace": "default", "uid": "svc-uid", "labels": {"app": "web"}},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": target_port, "protocol": "TCP"}]}})
}

fn pod(name: &str, ip: &str, ready: bool, port_name: &str, port: i32) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "default", "uid": format!("{name}-uid"), "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": port}]}]},
        "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
}

#[test]
fn named_target_ports_resolve_per_pod() {
    let s = state(vec![
        ("Pod", pod("a", "10.0.0.2", true, "web", 8080)),
        ("Pod", pod("b", "10.0.0.3", true, "web", 9090)),
    ]);
    let svc: Service = object(service(json!("web")));
    let eps = pod_endpoints(&svc, &s);
    let mut ports: Vec<i32> = eps.iter().map(|e| e.ports[0].port).collect();
    ports.sort();
    assert_eq!(ports, vec![8080, 9090]);
    assert_eq!(
        subsets(&eps).len(),
        2,
        "different port sets make different subsets"
    );
}

#[test]
fn ready_pods_are_addresses_and_unready_ones_not_ready_addresses() {
    let s = state(vec![
        ("Service", service(json!(8080))),
        ("Pod", pod("b", "10.0.0.3", true, "web", 8080)),
        ("Pod", pod("a", "10.0.0.2", true, "web", 8080)),
        ("Pod", pod("c", "10.0.0.4", false, "web", 8080)),
    ]);
    let changes = reconcile_all(&s);
    let Change::Create { object: ep, .. } = changes
        .iter()
        .find(|c| c.target().kind == "Endpoints")
        .unwrap()
    else {
        panic!("expected Endpoints create")
    };
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "10.0.0.2");
    assert_eq!(ep["subsets"][0]["addresses"][1]["ip"], "10.0.0.3");
    assert_eq!(ep["subsets"][0]["notReadyAddresses"][0]["ip"], "10.0.0.4");
    assert_eq!(
        ep["subsets"][0]["ports"][0],
        json!({"name": "http", "port": 8080, "protocol": "TCP"})
    );
    let Change::Create { object: slice, .. } = changes
        .iter()
        .find(|c| c.target().kind == "EndpointSlice")
        .unwrap()
    else {
        panic!("expected slice")
    };
    assert_eq!(slice["metadata"]["labels"][SERVICE_NAME_LABEL], "web");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
    assert_eq!(slice["endpoints"].as_array().unwrap().len(), 3);
    assert_eq!(slice["endpoints"][2]["conditions"]["ready"], false);
}

#[test]
fn up_to_date_endpoints_produce_no_changes() {
    let mut s = state(vec![
        ("Service", service(json!(8080))),
        ("Pod", pod("a", "10.0.0.2", true, "web", 8080)),
    ]);
    for change in reconcile_all(&s) {
        if let Change::Create { object, .. } = change {
            let mut object = object;
            let kind = object["kind"].as_str().unwrap().to_string();
            if object["metadata"]["name"].is_null() {
                object["metadata"]["name"] = json!("web-abcde");
            }
            s.upsert(&kind, object);
        }
    }
    assert_eq!(reconcile_all(&s), vec![]);
}

#[test]
fn endpoints_of_a_deleted_service_are_removed_but_hand_made_ones_stay() {
    let s = state(vec![
        (
            "Endpoints",
            json!({"metadata": {"name": "gone", "namespace": "default", "annotations": {TRIGGER_TIME_ANNOTATION: "x"}}}),
        ),
        (
            "Endpoints",
            json!({"metadata": {"name": "external", "namespace": "default"}}),
        ),
    ]);
    let deleted: Vec<String> = reconcile_all(&s)
        .iter()
        .filter(|c| matches!(c, Change::Delete { .. }))
        .map(|c| c.target().name.clone())
        .collect();
    assert_eq!(deleted, vec!["gone"]);
}
