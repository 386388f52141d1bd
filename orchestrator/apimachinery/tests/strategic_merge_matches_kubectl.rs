//! Strategic merge, merge and JSON patches give the same result as upstream's own implementation, run
//! through the real `kubectl patch --local`.

use std::path::Path;
use std::process::Command;

use clusterd_apimachinery::patch::{apply_patch, PatchType};
use serde_json::{json, Value};

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl_available() -> bool {
    if Path::new(KUBECTL).exists() {
        return true;
    }
    eprintln!(
        "skipping: {KUBECTL} is not installed, so upstream's patch results cannot be compared"
    );
    false
}

/// What `kubectl patch --local` makes of `patch` applied to `object`.
fn kubectl_patch(object: &Value, patch: &Value, patch_type: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("object.json");
    std::fs::write(&file, object.to_string()).unwrap();
    let output = Command::new(KUBECTL)
        .args(["patch", "--local", "-o", "json", "--type", patch_type, "-f"])
        .arg(&file)
        .args(["-p", &patch.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubectl patch failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a.example.com/x", "b.example.com/y"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                        {"name": "sidecar", "image": "busybox", "args": ["sleep", "1d"]}
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
                    "tolerations": [{"key": "x", "operator": "Exists"}],
                    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}]
                }
            }
        }
    })
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}})
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "a"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}})
}

fn bare_deployment() -> Value {
    let mut object = deployment();
    object["spec"].as_object_mut().unwrap().remove("strategy");
    object
}

fn strategic_cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "directives under an absent key",
            bare_deployment(),
            json!({"spec": {"strategy": {
            "a": {"b": {"$patch": "delete"}, "c": {"d": null, "e": 1}},
            "l": [{"name": "x", "$patch": "delete"}, {"name": "y", "z": null}, {"$patch": "replace"}],
            "$setElementOrder/l": [{"name": "y"}]}}}),
        ),
        (
            "replace under an absent key",
            bare_deployment(),
            json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}),
        ),
        (
            "retain keys under an absent key",
            bare_deployment(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        ),
        (
            "new element taken verbatim",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "new", "resources": {"$patch": "replace"}, "x": null, "env": [{"name": "A", "$patch": "delete"}]}]}}}}),
        ),
        (
            "new list inside an element",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "newlist": [{"$patch": "delete", "name": "q"}, {"name": "r", "k": null}]}]}}}}),
        ),
        (
            "element order for an absent list",
            pod(),
            json!({"spec": {"$setElementOrder/volumes": [{"name": "v"}],
            "volumes": [{"name": "v", "emptyDir": {}}]}}),
        ),
        (
            "replaced list taken verbatim",
            deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [
            {"$patch": "replace"}, {"name": "n", "emptyDir": {}, "x": null}]}}}}),
        ),
        (
            "client-side apply patch",
            deployment(),
            json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
            "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                "containers": [{"image": "nginx:1.27", "name": "nginx"}]}}}}),
        ),
        (
            "element order reversed",
            deployment(),
            json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]}}}}),
        ),
        (
            "env and ports merge by key",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "env": [{"name": "B", "value": "changed"}, {"name": "C", "value": "3"}],
             "ports": [{"containerPort": 443, "name": "https"}]}]}}}}),
        ),
        (
            "new container appended",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "logger", "image": "fluentd"}]}}}}),
        ),
        (
            "delete list element",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"}]}}}}),
        ),
        (
            "replace list",
            deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [
            {"$patch": "replace"}, {"name": "only", "emptyDir": {}}]}}}}),
        ),
        (
            "replace map",
            deployment(),
            json!({"metadata": {"labels": {"$patch": "replace", "fresh": "yes"}}}),
        ),
        (
            "delete map",
            deployment(),
            json!({"spec": {"strategy": {"$patch": "delete"}}}),
        ),
        (
            "retain keys",
            deployment(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        ),
        (
            "delete from primitive list",
            deployment(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x"]}}),
        ),
        (
            "finalizers union",
            deployment(),
            json!({"metadata": {"finalizers": ["c.example.com/z", "a.example.com/x"]}}),
        ),
        (
            "null deletes",
            deployment(),
            json!({"metadata": {"labels": {"tier": null}}, "spec": {"replicas": null}}),
        ),
        (
            "atomic lists replace",
            deployment(),
            json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "y", "operator": "Exists"}],
            "containers": [{"name": "sidecar", "args": ["sleep", "2d"]}]}}}}),
        ),
        (
            "host aliases by ip",
            deployment(),
            json!({"spec": {"template": {"spec": {"hostAliases": [
            {"ip": "10.0.0.2", "hostnames": ["b"]}]}}}}),
        ),
        (
            "volume mounts by path",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "volumeMounts": [{"mountPath": "/data", "readOnly": true}, {"name": "cfg", "mountPath": "/etc/cfg"}]}]}}}}),
        ),
        (
            "service ports by port",
            service(),
            json!({"spec": {"ports": [{"port": 443, "targetPort": 9443}, {"port": 8080, "name": "alt"}]}}),
        ),
        (
            "pod conditions by type",
            pod(),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        ),
        (
            "element order with new and deleted elements",
            deployment(),
            json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "logger"}, {"name": "nginx"}],
            "containers": [{"name": "logger", "image": "fluentd"}, {"name": "sidecar", "$patch": "delete"}]}}}}),
        ),
        (
            "env order with new element in the middle",
            deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "$setElementOrder/env": [{"name": "A"}, {"name": "Z"}, {"name": "B"}],
             "env": [{"name": "Z", "value": "26"}]}]}}}}),
        ),
        (
            "primitive order directive",
            deployment(),
            json!({"metadata": {
            "$setElementOrder/finalizers": ["b.example.com/y", "c.example.com/z", "a.example.com/x"],
            "finalizers": ["c.example.com/z"]}}),
        ),
        (
            "retain keys in a volume",
            deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [
            {"name": "cfg", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}]}}}}),
        ),
        (
            "list added where none existed",
            pod(),
            json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}]}}),
        ),
        (
            "replace map inside list element",
            deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [
            {"name": "cfg", "configMap": {"$patch": "replace", "name": "other"}}]}}}}),
        ),
        (
            "replace nested map",
            deployment(),
            json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}),
        ),
    ]
}

#[test]
fn strategic_merge_patches_match_kubectl() {
    if !kubectl_available() {
        return;
    }
    for (name, object, patch) in strategic_cases() {
        let kind = object["kind"].as_str().unwrap().to_string();
        let group = if kind == "Deployment" { "apps" } else { "" };
        let ours = apply_patch(PatchType::StrategicMerge, &object, &patch, group, &kind).unwrap();
        let upstream = kubectl_patch(&object, &patch, "strategic");
        assert_eq!(
            ours, upstream,
            "case {name:?}\nours:     {ours}\nupstream: {upstream}"
        );
    }
}

#[test]
fn merge_and_json_patches_match_kubectl() {
    if !kubectl_available() {
        return;
    }
    let merge = json!({"metadata": {"labels": {"tier": null, "new": "1"}}, "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "x"}]}}}});
    let ours = apply_patch(
        PatchType::Merge,
        &deployment(),
        &merge,
        "apps",
        "Deployment",
    )
    .unwrap();
    assert_eq!(ours, kubectl_patch(&deployment(), &merge, "merge"));

    let json_patch = json!([
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "remove", "path": "/spec/template/spec/containers/1"},
        {"op": "add", "path": "/metadata/labels/extra", "value": "y"},
        {"op": "test", "path": "/metadata/name", "value": "web"}
    ]);
    let ours = apply_patch(
        PatchType::Json,
        &deployment(),
        &json_patch,
        "apps",
        "Deployment",
    )
    .unwrap();
    assert_eq!(ours, kubectl_patch(&deployment(), &json_patch, "json"));
}
