//! Pod defaults: `SetDefaults_Pod`, `SetDefaults_PodSpec`, `SetDefaults_Container` and friends from
//! `pkg/apis/core/v1/defaults.go`, plus what the default admission plugins and the Pod registry add to
//! new pods.

use serde_json::{json, Map, Value};

use super::{for_each_in, object_at, set_default};

fn text(value: &str) -> Value {
    Value::String(value.to_string())
}

/// A whole Pod, as `SetDefaults_Pod` fills it while decoding: the pod spec defaults and
/// `enableServiceLinks: true`.
pub fn default_pod(object: &mut Value) {
    let Value::Object(pod) = object else { return };
    let spec = object_at(pod, "spec");
    default_spec_map(spec);
    set_default(spec, "enableServiceLinks", Value::Bool(true));
}

/// What the default admission plugins add to a new Pod: `serviceAccountName: default` (ServiceAccount;
/// the deprecated `serviceAccount` alias kept in step), `priority: 0` and
/// `preemptionPolicy: PreemptLowerPriority` (Priority), and 300 s tolerations of not-ready and unreachable
/// nodes (DefaultTolerationSeconds). The token volume the ServiceAccount plugin mounts is not added.
pub fn admit_pod(object: &mut Value) {
    let Value::Object(pod) = object else { return };
    let spec = object_at(pod, "spec");
    set_default(spec, "serviceAccountName", text("default"));
    let account = spec
        .get("serviceAccountName")
        .cloned()
        .unwrap_or_else(|| text("default"));
    set_default(spec, "serviceAccount", account);
    set_default(spec, "priority", json!(0));
    set_default(spec, "preemptionPolicy", text("PreemptLowerPriority"));
    add_default_tolerations(spec);
}

/// What the Pod registry sets on create (`PrepareForCreate`): `status.phase: Pending` and the QoS class.
pub fn prepare_pod_for_create(object: &mut Value) {
    let Value::Object(pod) = object else { return };
    let qos = qos_class(object_at(pod, "spec"));
    let status = object_at(pod, "status");
    set_default(status, "phase", text("Pending"));
    set_default(status, "qosClass", text(qos));
}

/// A pod template (`spec.template` of workloads): its spec gets the pod spec defaults.
pub fn default_pod_template(template: &mut Value) {
    let Value::Object(template) = template else {
        return;
    };
    default_spec_map(object_at(template, "spec"));
}

/// A pod spec: `restartPolicy: Always`, `dnsPolicy: ClusterFirst`, `schedulerName: default-scheduler`,
/// `terminationGracePeriodSeconds: 30`, `securityContext: {}`, and container and volume defaults.
pub fn default_pod_spec(spec: &mut Value) {
    if let Value::Object(spec) = spec {
        default_spec_map(spec);
    }
}

fn default_spec_map(spec: &mut Map<String, Value>) {
    set_default(spec, "restartPolicy", text("Always"));
    set_default(spec, "dnsPolicy", text("ClusterFirst"));
    set_default(spec, "schedulerName", text("default-scheduler"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for_each_in(spec, "containers", |c| {
            for_each_in(c, "ports", copy_container_port_to_host_port)
        });
    }
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for_each_in(spec, key, default_container_map);
    }
    for_each_in(spec, "volumes", default_volume);
}

fn copy_container_port_to_host_port(port: &mut Map<String, Value>) {
    if let Some(container_port) = port.get("containerPort").cloned() {
        set_default(port, "hostPort", container_port);
    }
}

/// A container: `imagePullPolicy` (Always for `:latest` or no tag, else IfNotPresent),
/// `terminationMessagePath`/`Policy`, `resources: {}` (requests default to limits), port protocol TCP,
/// probe timings and `fieldRef.apiVersion: v1`.
pub fn default_container(container: &mut Value) {
    if let Value::Object(container) = container {
        default_container_map(container);
    }
}

fn default_container_map(container: &mut Map<String, Value>) {
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let policy = if image_uses_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default(container, "imagePullPolicy", text(policy));
    set_default(
        container,
        "terminationMessagePath",
        text("/dev/termination-log"),
    );
    set_default(container, "terminationMessagePolicy", text("File"));
    let resources = object_at(container, "resources");
    if let Some(Value::Object(limits)) = resources.get("limits").cloned() {
        let requests = object_at(resources, "requests");
        for (name, quantity) in limits {
            set_default(requests, &name, quantity);
        }
    }
    for_each_in(container, "ports", |port| {
        set_default(port, "protocol", text("TCP"))
    });
    for_each_in(container, "env", |env| {
        if let Some(Value::Object(from)) = env.get_mut("valueFrom") {
            if let Some(Value::Object(field_ref)) = from.get_mut("fieldRef") {
                set_default(field_ref, "apiVersion", text("v1"));
            }
        }
    });
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(Value::Object(probe)) = container.get_mut(probe) {
            default_probe(probe);
        }
    }
}

/// Whether an image reference pulls `:latest`: no tag, or the tag `latest`, and no digest.
fn image_uses_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    match last_segment.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn default_probe(probe: &mut Map<String, Value>) {
    set_default(probe, "timeoutSeconds", json!(1));
    set_default(probe, "periodSeconds", json!(10));
    set_default(probe, "successThreshold", json!(1));
    set_default(probe, "failureThreshold", json!(3));
    if let Some(Value::Object(get)) = probe.get_mut("httpGet") {
        set_default(get, "path", text("/"));
        set_default(get, "scheme", text("HTTP"));
    }
}

fn default_volume(volume: &mut Map<String, Value>) {
    for source in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(Value::Object(source)) = volume.get_mut(source) {
            set_default(source, "defaultMode", json!(420));
        }
    }
    if let Some(Value::Object(host_path)) = volume.get_mut("hostPath") {
        set_default(host_path, "type", text(""));
    }
}

/// Admission DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s unless the pod
/// already tolerates those taints.
fn add_default_tolerations(spec: &mut Map<String, Value>) {
    let slot = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(tolerations) = slot else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or_default();
            let matches_key = match t.get("key").and_then(Value::as_str) {
                Some(k) if !k.is_empty() => k == key,
                _ => t.get("operator").and_then(Value::as_str) == Some("Exists"),
            };
            matches_key && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
}

/// The QoS class upstream computes (`pkg/apis/core/helper/qos`): Guaranteed when every container sets cpu
/// and memory limits equal to its requests, BestEffort when none sets any, Burstable otherwise.
fn qos_class(spec: &Map<String, Value>) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let resource = |c: &Value, kind: &str, name: &str| {
        c.get("resources")
            .and_then(|r| r.get(kind))
            .and_then(|m| m.get(name))
            .cloned()
    };
    let any_set = containers.iter().any(|c| {
        ["requests", "limits"].iter().any(|kind| {
            c.get("resources")
                .and_then(|r| r.get(*kind))
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
        })
    });
    if !any_set {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|name| {
            let limit = resource(c, "limits", name);
            limit.is_some() && resource(c, "requests", name).is_none_or(|r| Some(r) == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}
