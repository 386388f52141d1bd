//! Service defaults: `SetDefaults_Service` (`pkg/apis/core/v1/defaults.go`) and the single-stack IPv4
//! family fields the Service registry sets on a single-stack cluster.

use serde_json::{json, Value};

use super::{for_each_in, object_at, set_default};

/// Service: `type: ClusterIP`, `sessionAffinity: None`, ports `protocol: TCP` and `targetPort` = `port`,
/// `internalTrafficPolicy: Cluster`, `externalTrafficPolicy: Cluster` and (for LoadBalancer)
/// `allocateLoadBalancerNodePorts: true`, `ipFamilies: [IPv4]`/`ipFamilyPolicy: SingleStack` for services
/// with cluster IPs, and `status.loadBalancer: {}`.
pub fn default_service(object: &mut Value) {
    let Value::Object(service) = object else {
        return;
    };
    let spec = object_at(service, "spec");
    set_default(spec, "type", json!("ClusterIP"));
    let service_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    set_default(spec, "sessionAffinity", json!("None"));
    for_each_in(spec, "ports", |port| {
        set_default(port, "protocol", json!("TCP"));
        if let Some(number) = port.get("port").cloned() {
            set_default(port, "targetPort", number);
        }
    });
    if service_type != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
    }
    if service_type == "NodePort" || service_type == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        let config = object_at(spec, "sessionAffinityConfig");
        set_default(
            object_at(config, "clientIP"),
            "timeoutSeconds",
            json!(10800),
        );
    }
    set_default(object_at(service, "status"), "loadBalancer", json!({}));
}
