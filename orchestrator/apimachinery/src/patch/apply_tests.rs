//! Behaviour of server-side apply and managed-field tracking.

use serde_json::{json, Value};
use time::macros::datetime;

use super::*;

fn apply_options(manager: &str, force: bool) -> ApplyOptions<'_> {
    ApplyOptions {
        manager,
        force,
        kind: "Deployment",
        api_version: "apps/v1",
        subresource: None,
        now: datetime!(2026-01-02 03:04:05.678 UTC),
    }
}

fn update_options(manager: &str) -> UpdateOptions<'_> {
    UpdateOptions {
        manager,
        kind: "Deployment",
        api_version: "apps/v1",
        subresource: None,
        now: datetime!(2026-01-02 03:04:05 UTC),
    }
}

fn config(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}
        }
    })
}

fn managers(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_string(),
                        e["operation"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn apply_creates_object_with_upstream_shaped_managed_fields() {
    let created = server_side_apply(
        None,
        &config(2, "nginx:1.27"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(created["spec"]["replicas"], 2);
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["manager"], "kubectl");
    assert_eq!(entry["operation"], "Apply");
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["time"], "2026-01-02T03:04:05Z");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(
        entry["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                }
            }
        })
    );
}

#[test]
fn reapply_by_same_manager_updates_fields_without_conflict() {
    let live = server_side_apply(
        None,
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    let updated = server_side_apply(
        Some(&live),
        &config(3, "nginx:1.27"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(updated["spec"]["replicas"], 3);
    assert_eq!(
        updated["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(
        managers(&updated),
        [("kubectl".to_string(), "Apply".to_string())]
    );
}

#[test]
fn apply_conflicts_with_field_owned_by_another_manager() {
    let created = record_update(
        None,
        &config(2, "nginx:1.25"),
        &update_options("kubectl-client-side-apply"),
    )
    .unwrap();
    let err = server_side_apply(
        Some(&created),
        &config(5, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap_err();
    assert_eq!(err.http_code(), 409);
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let Error::Conflicts(conflicts) = err else {
        panic!("expected conflicts")
    };
    assert_eq!(
        conflicts[0].cause_message(),
        "conflict with \"kubectl-client-side-apply\" using apps/v1"
    );
}

#[test]
fn several_conflicts_are_listed_per_manager() {
    let created = record_update(
        None,
        &config(2, "nginx:1.25"),
        &update_options("kubectl-client-side-apply"),
    )
    .unwrap();
    let err = server_side_apply(
        Some(&created),
        &config(5, "nginx:1.27"),
        &apply_options("kubectl", false),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn applying_the_same_value_shares_ownership_without_conflict() {
    let created = record_update(
        None,
        &config(2, "nginx:1.25"),
        &update_options("kubectl-client-side-apply"),
    )
    .unwrap();
    let applied = server_side_apply(
        Some(&created),
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(
        managers(&applied),
        [
            (
                "kubectl-client-side-apply".to_string(),
                "Update".to_string()
            ),
            ("kubectl".to_string(), "Apply".to_string())
        ]
    );
}

#[test]
fn force_takes_ownership_from_the_other_manager() {
    let created = record_update(
        None,
        &config(2, "nginx:1.25"),
        &update_options("kubectl-client-side-apply"),
    )
    .unwrap();
    let forced = server_side_apply(
        Some(&created),
        &config(5, "nginx:1.25"),
        &apply_options("kubectl", true),
    )
    .unwrap();
    assert_eq!(forced["spec"]["replicas"], 5);
    let csa = &forced["metadata"]["managedFields"][0];
    assert_eq!(csa["manager"], "kubectl-client-side-apply");
    assert!(csa["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    assert!(csa["fieldsV1"]["f:spec"].get("f:template").is_some());
    assert!(forced["metadata"]["managedFields"][1]["fieldsV1"]["f:spec"]
        .get("f:replicas")
        .is_some());
}

#[test]
fn field_dropped_from_configuration_is_removed_when_no_one_else_owns_it() {
    let mut first = config(2, "nginx:1.25");
    first["metadata"]["labels"]["tier"] = json!("front");
    first["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "busybox"}));
    let live = server_side_apply(None, &first, &apply_options("kubectl", false)).unwrap();
    let second = server_side_apply(
        Some(&live),
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(second["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn field_dropped_from_configuration_stays_when_another_manager_owns_it() {
    let mut first = config(2, "nginx:1.25");
    first["metadata"]["labels"]["tier"] = json!("front");
    let live = server_side_apply(None, &first, &apply_options("kubectl", false)).unwrap();
    let mut edited = live.clone();
    edited["metadata"]["labels"]["tier"] = json!("back");
    let edited = record_update(Some(&live), &edited, &update_options("kubectl-edit")).unwrap();
    let second = server_side_apply(
        Some(&edited),
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(second["metadata"]["labels"]["tier"], "back");
}

#[test]
fn update_moves_ownership_of_changed_fields_to_the_writer() {
    let live = server_side_apply(
        None,
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(4);
    let scaled = record_update(
        Some(&live),
        &scaled,
        &update_options("kube-controller-manager"),
    )
    .unwrap();
    assert_eq!(managers(&scaled).len(), 2);
    let entries = scaled["metadata"]["managedFields"].as_array().unwrap();
    assert!(entries[0]["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    assert_eq!(entries[1]["operation"], "Update");
    assert_eq!(
        entries[1]["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    let err = server_side_apply(
        Some(&scaled),
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("conflict with \"kube-controller-manager\" using apps/v1: .spec.replicas"),
        "{err}"
    );
}

#[test]
fn update_that_rewrites_managed_fields_is_honoured() {
    let created = record_update(
        None,
        &config(2, "nginx:1.25"),
        &update_options("kubectl-client-side-apply"),
    )
    .unwrap();
    let mut rewritten = created.clone();
    rewritten["metadata"]["managedFields"][0]["manager"] = json!("kubectl");
    rewritten["metadata"]["managedFields"][0]["operation"] = json!("Apply");
    let stored = record_update(Some(&created), &rewritten, &update_options("kubectl")).unwrap();
    assert_eq!(
        managers(&stored),
        [("kubectl".to_string(), "Apply".to_string())]
    );
}

#[test]
fn apply_without_field_manager_is_a_bad_request() {
    let err = server_side_apply(None, &config(1, "x"), &apply_options("", false)).unwrap_err();
    assert_eq!(err.http_code(), 400);
}

#[test]
fn fields_v1_round_trips() {
    let fields = json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"a\"": {}}}, "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}});
    let set = FieldSet::from_fields_v1(&fields).unwrap();
    assert_eq!(set.to_fields_v1(), fields);
    assert!(FieldSet::from_fields_v1(&json!({"x:bad": {}})).is_err());
}

#[test]
fn object_without_managed_fields_belongs_to_before_first_apply() {
    let untracked = config(2, "nginx:1.25");
    let err = server_side_apply(
        Some(&untracked),
        &config(3, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
    let same = server_side_apply(
        Some(&untracked),
        &config(2, "nginx:1.25"),
        &apply_options("kubectl", false),
    )
    .unwrap();
    assert_eq!(
        managers(&same),
        [
            ("before-first-apply".to_string(), "Update".to_string()),
            ("kubectl".to_string(), "Apply".to_string())
        ]
    );
}
