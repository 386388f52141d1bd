//! Events, config objects, RBAC bindings and networking objects.

use serde_json::json;

use super::{cells, headers, table};

#[test]
fn core_event_cells() {
    let event = json!({
        "metadata": {"name": "web.17c9d1f0", "namespace": "default", "creationTimestamp": "2024-05-01T11:50:00Z"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{app}"},
        "reason": "Pulled", "message": "Successfully pulled image \"nginx\"\n", "type": "Normal",
        "source": {"component": "kubelet", "host": "node1"},
        "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:58:00Z", "count": 3
    });
    let c = cells("", "events", event);
    assert_eq!(
        c,
        [
            json!("2m"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{app}"),
            json!("kubelet, node1"),
            json!("Successfully pulled image \"nginx\""),
            json!("10m"),
            json!(3),
            json!("web.17c9d1f0")
        ]
    );
    let h: Vec<String> = headers("", "events")
        .into_iter()
        .filter(|(_, p)| *p == 0)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(h, ["Last Seen", "Type", "Reason", "Object", "Message"]);
}

#[test]
fn new_style_event_uses_event_time_and_series() {
    let event = json!({
        "metadata": {"name": "e2", "namespace": "default"},
        "involvedObject": {"kind": "Node", "name": "node1"},
        "reason": "Starting", "type": "Normal", "message": "Starting kubelet.",
        "eventTime": "2024-05-01T11:00:00.000000Z", "reportingComponent": "kubelet", "reportingController": "kubelet", "reportingInstance": "node1",
        "series": {"count": 7, "lastObservedTime": "2024-05-01T11:59:30.000000Z"}
    });
    let c = cells("", "events", event);
    assert_eq!(c[0], "30s");
    assert_eq!(c[5], "kubelet, node1");
    assert_eq!(c[7], "60m");
    assert_eq!(c[8], 7);
    let v1 = json!({"metadata": {"name": "e3"}, "regarding": {"kind": "Pod", "name": "x"}, "note": "hi", "reason": "R",
                    "type": "Warning", "eventTime": "2024-05-01T11:59:00.000000Z", "reportingController": "ctl"});
    let c = cells("events.k8s.io", "events", v1);
    assert_eq!(
        c[..7],
        [
            json!("60s"),
            json!("Warning"),
            json!("R"),
            json!("pod/x"),
            json!(""),
            json!("ctl"),
            json!("hi")
        ]
    );
    assert_eq!(c[8], 1);
}

#[test]
fn config_objects_count_their_data() {
    let meta =
        json!({"name": "x", "namespace": "default", "creationTimestamp": "2024-05-01T11:59:50Z"});
    assert_eq!(
        cells(
            "",
            "configmaps",
            json!({"metadata": meta, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}})
        ),
        [json!("x"), json!(3), json!("10s")]
    );
    assert_eq!(
        cells(
            "",
            "secrets",
            json!({"metadata": meta, "type": "Opaque", "data": {"a": "MQ=="}})
        ),
        [json!("x"), json!("Opaque"), json!(1), json!("10s")]
    );
    assert_eq!(
        cells("", "serviceaccounts", json!({"metadata": meta})),
        [json!("x"), json!(0), json!("10s")]
    );
    assert_eq!(
        cells(
            "",
            "namespaces",
            json!({"metadata": meta, "status": {"phase": "Active"}})
        ),
        [json!("x"), json!("Active"), json!("10s")]
    );
    assert_eq!(
        cells(
            "coordination.k8s.io",
            "leases",
            json!({"metadata": meta, "spec": {"holderIdentity": "node1"}})
        ),
        [json!("x"), json!("node1"), json!("10s")]
    );
}

#[test]
fn role_binding_lists_subjects() {
    let binding = json!({"metadata": {"name": "admins", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                     {"kind": "ServiceAccount", "name": "ci", "namespace": "build"}, {"kind": "User", "name": "bob"}]});
    assert_eq!(
        cells("rbac.authorization.k8s.io", "clusterrolebindings", binding),
        [
            json!("admins"),
            json!("ClusterRole/cluster-admin"),
            json!("60m"),
            json!("alice, bob"),
            json!("ops"),
            json!("build/ci")
        ]
    );
}

#[test]
fn network_objects() {
    let meta =
        json!({"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z"});
    let ep = json!({"metadata": meta, "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
                                                   "ports": [{"port": 8080}]}]});
    assert_eq!(
        cells("", "endpoints", ep)[1],
        "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more..."
    );
    assert_eq!(
        cells("", "endpoints", json!({"metadata": meta}))[1],
        "<none>"
    );
    let slice = json!({"metadata": meta, "addressType": "IPv4", "ports": [{"port": 8080, "name": "http"}],
                       "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
    assert_eq!(
        cells("discovery.k8s.io", "endpointslices", slice)[..4],
        [
            json!("web"),
            json!("IPv4"),
            json!("8080"),
            json!("10.0.0.1,10.0.0.2")
        ]
    );
    let empty_slice = json!({"metadata": meta, "addressType": "IPv4"});
    assert_eq!(
        cells("discovery.k8s.io", "endpointslices", empty_slice)[2..4],
        [json!("<unset>"), json!("<unset>")]
    );
    let ing = json!({"metadata": meta, "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
                     "tls": [{"hosts": ["a.example.com"]}]}, "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.5"}]}}});
    assert_eq!(
        cells("networking.k8s.io", "ingresses", ing),
        [
            json!("web"),
            json!("nginx"),
            json!("a.example.com,b.example.com"),
            json!("172.18.0.5"),
            json!("80, 443"),
            json!("60m")
        ]
    );
    let class = json!({"metadata": meta, "spec": {"controller": "k8s.io/ingress-nginx",
                       "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
    assert_eq!(
        cells("networking.k8s.io", "ingressclasses", class)[1..3],
        [
            json!("k8s.io/ingress-nginx"),
            json!("IngressParameters.k8s.example.com/external-lb")
        ]
    );
}

#[test]
fn resources_without_printer_get_name_and_created_at() {
    let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T11:00:00Z"}});
    let t = table("apiextensions.k8s.io", "customresourcedefinitions", &[crd]);
    assert_eq!(t["columnDefinitions"][1]["name"], "Created At");
    assert_eq!(t["columnDefinitions"][1]["type"], "date");
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["widgets.example.com", "2024-05-01T11:00:00Z"])
    );
    assert_eq!(
        headers("rbac.authorization.k8s.io", "roles")[1].0,
        "Created At"
    );
}

#[test]
fn persistent_volume_claim_cells() {
    let meta = json!({"name": "data", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z"});
    let bound = json!({"metadata": meta,
        "spec": {"volumeName": "pv-1", "storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
    assert_eq!(
        cells("", "persistentvolumeclaims", bound),
        [
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("2Gi"),
            json!("RWO,RWX"),
            json!("standard"),
            json!("<unset>"),
            json!("60m"),
            json!("<unset>")
        ]
    );
    let mut pending = json!({"metadata": meta, "spec": {"storageClassName": "standard", "volumeMode": "Filesystem"},
                             "status": {"phase": "Pending"}});
    pending["metadata"]["annotations"] =
        json!({"volume.beta.kubernetes.io/storage-class": "legacy"});
    assert_eq!(
        cells("", "persistentvolumeclaims", pending)[1..9],
        [
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!("legacy"),
            json!("<unset>"),
            json!("60m"),
            json!("Filesystem")
        ]
    );
}

#[test]
fn resource_quota_splits_requests_and_limits() {
    let quota = json!({"metadata": {"name": "q", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "status": {"hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi"},
                   "used": {"pods": "2", "requests.cpu": "100m"}}});
    assert_eq!(
        cells("", "resourcequotas", quota),
        [
            json!("q"),
            json!("pods: 2/10, requests.cpu: 100m/1"),
            json!("limits.memory: 0/2Gi"),
            json!("60m")
        ]
    );
    assert_eq!(headers("", "resourcequotas").len(), 4);
}
