//! Behaviour of JSON, merge and strategic merge patches.

use serde_json::json;

use super::*;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "finalizers": ["a"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                        {"name": "sidecar", "image": "busybox", "args": ["sleep", "1d"]}
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "x", "operator": "Exists"}]
                }
            }
        }
    })
}

fn smp(original: &Value, patch: Value) -> Value {
    strategic_merge(original, &patch, "Deployment").unwrap()
}

#[test]
fn kubectl_client_side_apply_patch_keeps_sibling_container_fields() {
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
            "containers": [{"image": "nginx:1.27", "name": "nginx"}]
        }}}
    });
    let patched = smp(&deployment(), patch);
    let nginx = &patched["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(nginx["image"], "nginx:1.27");
    assert_eq!(nginx["imagePullPolicy"], "IfNotPresent");
    assert_eq!(nginx["ports"][0]["containerPort"], 80);
    assert_eq!(
        patched["spec"]["template"]["spec"]["containers"][1]["name"],
        "sidecar"
    );
    assert!(patched["spec"]["template"]["spec"]
        .get("$setElementOrder/containers")
        .is_none());
    assert_eq!(
        patched["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{}\n"
    );
    assert_eq!(patched["metadata"]["labels"]["app"], "web");
}

#[test]
fn set_element_order_reorders_merged_list() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]
    }}}});
    let patched = smp(&deployment(), patch);
    let names: Vec<&str> = patched["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sidecar", "nginx"]);
}

#[test]
fn new_list_element_follows_patch_order_and_env_merges_by_name() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "env": [{"name": "B", "value": "changed"}, {"name": "C", "value": "3"}]},
        {"name": "logger", "image": "fluentd"}
    ]}}}});
    let patched = smp(&deployment(), patch);
    let containers = patched["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    // Upstream's order: elements the patch names in its order, server-only ones interleaved by live position.
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "logger", "sidecar"]);
    assert_eq!(containers[1]["image"], "fluentd");
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "changed"}, {"name": "C", "value": "3"}])
    );
}

#[test]
fn patch_delete_directive_removes_list_element_by_key() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
    let patched = smp(&deployment(), patch);
    let containers = patched["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "nginx");
}

#[test]
fn patch_replace_directive_in_list_replaces_whole_list() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "alpine"}
    ]}}}});
    let patched = smp(&deployment(), patch);
    assert_eq!(
        patched["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "alpine"}])
    );
}

#[test]
fn patch_replace_directive_in_map_drops_unmentioned_keys() {
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "tier": "front"}}});
    let patched = smp(&deployment(), patch);
    assert_eq!(patched["metadata"]["labels"], json!({"tier": "front"}));
}

#[test]
fn patch_delete_directive_in_map_empties_the_map() {
    // Upstream leaves an empty map behind (`kubectl patch --local` agrees).
    let patch = json!({"spec": {"strategy": {"$patch": "delete"}}});
    let patched = smp(&deployment(), patch);
    assert_eq!(patched["spec"]["strategy"], json!({}));
    assert_eq!(patched["spec"]["replicas"], 2);
}

#[test]
fn retain_keys_clears_keys_not_listed() {
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let patched = smp(&deployment(), patch);
    assert_eq!(patched["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn delete_from_primitive_list_removes_values() {
    let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patched = smp(
        &original,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
    );
    assert_eq!(patched["metadata"]["finalizers"], json!(["a", "c"]));
}

#[test]
fn finalizers_merge_as_a_set_in_patch_order() {
    let patched = smp(
        &deployment(),
        json!({"metadata": {"finalizers": ["b", "a"]}}),
    );
    assert_eq!(patched["metadata"]["finalizers"], json!(["b", "a"]));
}

#[test]
fn null_deletes_a_key() {
    let patched = smp(
        &deployment(),
        json!({"metadata": {"labels": {"app": null}}, "spec": {"replicas": null}}),
    );
    assert_eq!(patched["metadata"]["labels"], json!({}));
    assert!(patched["spec"].get("replicas").is_none());
}

#[test]
fn lists_without_merge_key_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {
        "tolerations": [{"key": "y", "operator": "Exists"}],
        "containers": [{"name": "sidecar", "args": ["sleep", "2d"]}]
    }}}});
    let patched = smp(&deployment(), patch);
    assert_eq!(
        patched["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "y", "operator": "Exists"}])
    );
    assert_eq!(
        patched["spec"]["template"]["spec"]["containers"][1]["args"],
        json!(["sleep", "2d"])
    );
}

#[test]
fn service_ports_merge_by_port() {
    let service = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
    let patched = strategic_merge(
        &service,
        &json!({"spec": {"ports": [{"port": 80, "nodePort": 30080}]}}),
        "Service",
    )
    .unwrap();
    assert_eq!(
        patched["spec"]["ports"],
        json!([{"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 30080}])
    );
}

#[test]
fn pod_conditions_merge_by_type() {
    let pod = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}});
    let patched = strategic_merge(
        &pod,
        &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        "Pod",
    )
    .unwrap();
    assert_eq!(
        patched["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}])
    );
}

#[test]
fn element_without_merge_key_is_rejected() {
    let err = strategic_merge(
        &deployment(),
        &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(err.http_code(), 422);
    assert!(
        err.to_string()
            .contains("does not contain declared merge key: name"),
        "{err}"
    );
}

#[test]
fn unknown_patch_directive_is_rejected() {
    let err = strategic_merge(
        &deployment(),
        &json!({"spec": {"$patch": "explode"}}),
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown patch type: explode in map at spec"
    );
    // Like upstream, "merge" is not a directive maps accept.
    let err = strategic_merge(
        &deployment(),
        &json!({"spec": {"strategy": {"$patch": "merge"}}}),
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(err.http_code(), 422);
}

#[test]
fn custom_resources_refuse_strategic_merge_with_415() {
    let err = apply_patch(
        PatchType::StrategicMerge,
        &json!({}),
        &json!({}),
        "example.com",
        "Widget",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch format is not supported"
    );
    assert_eq!(err.http_code(), 415);
    assert!(supports_strategic_merge("apps"));
    assert!(supports_strategic_merge(""));
}

#[test]
fn merge_patch_replaces_lists_and_deletes_nulls() {
    let patched = apply_patch(
        PatchType::Merge,
        &deployment(),
        &json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "x"}]}}}, "metadata": {"labels": null}}),
        "apps",
        "Deployment",
    )
    .unwrap();
    assert_eq!(patched["spec"]["replicas"], 3);
    assert_eq!(
        patched["spec"]["template"]["spec"]["containers"],
        json!([{"name": "x"}])
    );
    assert!(patched["metadata"].get("labels").is_none());
}

#[test]
fn json_patch_applies_operations_and_reports_failed_tests() {
    let ops = json!([
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"}
    ]);
    let patched = apply_patch(PatchType::Json, &deployment(), &ops, "apps", "Deployment").unwrap();
    assert_eq!(patched["spec"]["replicas"], 5);
    assert_eq!(patched["metadata"]["labels"]["tier"], "web");

    let failing = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
    let err = json_patch(&deployment(), &failing).unwrap_err();
    assert_eq!(err.http_code(), 422);
    let err = json_patch(&deployment(), &json!({"op": "nope"})).unwrap_err();
    assert_eq!(err.http_code(), 400);
}

#[test]
fn content_types_map_to_patch_types() {
    assert_eq!(
        PatchType::from_content_type("application/strategic-merge-patch+json").unwrap(),
        PatchType::StrategicMerge
    );
    assert_eq!(
        PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
        PatchType::Merge
    );
    assert_eq!(
        PatchType::from_content_type("application/json-patch+json").unwrap(),
        PatchType::Json
    );
    assert_eq!(
        PatchType::from_content_type("application/apply-patch+yaml").unwrap(),
        PatchType::Apply
    );
    assert_eq!(
        PatchType::from_content_type("text/plain")
            .unwrap_err()
            .http_code(),
        415
    );
}

#[test]
fn malformed_lists_are_rejected_like_upstream() {
    let mixed = strategic_merge(
        &deployment(),
        &json!({"metadata": {"finalizers": [{"$patch": "replace"}, "z"]}}),
        "Deployment",
    );
    assert!(
        matches!(mixed, Err(Error::MixedListTypes { .. })),
        "{mixed:?}"
    );
    let unknown = strategic_merge(
        &deployment(),
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "new", "$patch": "explode"}]}}}}),
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "unknown patch type: explode in map at spec.template.spec.containers[0]"
    );
    let not_objects = strategic_merge(
        &deployment(),
        &json!({"spec": {"template": {"spec": {"containers": ["x"]}}}}),
        "Deployment",
    );
    assert!(
        matches!(not_objects, Err(Error::InvalidListItem { .. })),
        "{not_objects:?}"
    );
}
