use serde_json::json;

use super::*;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn parses_all_three_operators() {
    let s = FieldSelector::parse("a=1,b==2,c!=3").unwrap();
    let ops: Vec<_> = s
        .requirements()
        .iter()
        .map(|r| (r.field.as_str(), r.operator, r.value.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("a", FieldOperator::Equals, "1"),
            ("b", FieldOperator::Equals, "2"),
            ("c", FieldOperator::NotEquals, "3")
        ]
    );
}

#[test]
fn empty_selector_and_empty_terms_match_everything() {
    assert!(FieldSelector::parse("").unwrap().is_empty());
    assert!(FieldSelector::parse(",,").unwrap().is_empty());
    assert!(FieldSelector::parse("").unwrap().matches(&set(&[])));
}

#[test]
fn term_without_operator_is_rejected_naming_it() {
    let err = FieldSelector::parse("metadata.name=x,bogus").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid selector: 'metadata.name=x,bogus'; can't understand 'bogus'"
    );
}

#[test]
fn escaped_separators_stay_in_the_value() {
    let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d,type=x").unwrap();
    assert_eq!(s.requirements().len(), 2);
    assert_eq!(s.requirements()[0].value, r"a,b=c\d");
    assert_eq!(s.to_string(), r"metadata.name=a\,b\=c\\d,type=x");
    assert_eq!(FieldSelector::parse(&s.to_string()).unwrap(), s);
}

#[test]
fn bad_escapes_and_unescaped_equals_are_rejected() {
    let err = FieldSelector::parse(r"a=b\x").unwrap_err();
    assert!(
        err.to_string().contains(r"invalid escape sequence: \x"),
        "{err}"
    );
    let err = FieldSelector::parse("a=b=c").unwrap_err();
    assert!(err.to_string().contains("unescaped character"), "{err}");
    assert!(FieldSelector::parse(r"a=b\").is_err());
}

#[test]
fn empty_value_matches_absent_field() {
    let s = FieldSelector::parse("spec.nodeName=").unwrap();
    assert!(s.matches(&set(&[])));
    assert!(s.matches(&set(&[("spec.nodeName", "")])));
    assert!(!s.matches(&set(&[("spec.nodeName", "n1")])));
}

#[test]
fn describe_node_selector_matches_running_pods_on_node() {
    let s = FieldSelector::parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed")
        .unwrap()
        .validate_for("", "pods")
        .unwrap();
    let running = json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    let done = json!({"metadata": {"name": "b", "namespace": "d"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
    let elsewhere = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}});
    assert!(s.matches_object("", "pods", &running));
    assert!(!s.matches_object("", "pods", &done));
    assert!(!s.matches_object("", "pods", &elsewhere));
}

#[test]
fn describe_pod_event_selector_matches_in_any_term_order() {
    let event = json!({"metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u-1"}});
    for text in [
        "involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u-1",
        "involvedObject.uid=u-1,involvedObject.name=web,involvedObject.namespace=default",
    ] {
        let s = FieldSelector::parse(text)
            .unwrap()
            .validate_for("", "events")
            .unwrap();
        assert!(s.matches_object("", "events", &event), "{text}");
    }
    let other = FieldSelector::parse("involvedObject.uid=u-2").unwrap();
    assert!(!other.matches_object("", "events", &event));
}

#[test]
fn metadata_name_works_on_every_resource() {
    let s = FieldSelector::parse("metadata.name=web")
        .unwrap()
        .validate_for("apps", "deployments")
        .unwrap();
    assert_eq!(s.exact_match("metadata.name"), Some("web"));
    assert!(s.matches_object("apps", "deployments", &json!({"metadata": {"name": "web"}})));
    assert!(!s.matches_object("apps", "deployments", &json!({"metadata": {"name": "api"}})));
}

#[test]
fn unsupported_field_label_is_rejected_with_upstream_text() {
    let err = FieldSelector::parse("spec.replicas=3")
        .unwrap()
        .validate_for("apps", "deployments")
        .unwrap_err();
    assert_eq!(err.to_string(), "field label not supported: spec.replicas");
    let status: crate::status::StatusError = err.into();
    assert_eq!(status.code, 400);
}

#[test]
fn legacy_spec_host_selects_by_node_name() {
    let s = FieldSelector::parse("spec.host=n1")
        .unwrap()
        .validate_for("", "pods")
        .unwrap();
    assert_eq!(s.requirements()[0].field, "spec.nodeName");
    assert!(s.matches_object(
        "",
        "pods",
        &json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}})
    ));
}

#[test]
fn secret_type_and_namespace_phase_select() {
    let tls = FieldSelector::parse("type=kubernetes.io/tls")
        .unwrap()
        .validate_for("", "secrets")
        .unwrap();
    assert!(tls.matches_object(
        "",
        "secrets",
        &json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls"})
    ));
    let active = FieldSelector::parse("status.phase=Active")
        .unwrap()
        .validate_for("", "namespaces")
        .unwrap();
    assert!(active.matches_object(
        "",
        "namespaces",
        &json!({"metadata": {"name": "n"}, "status": {"phase": "Active"}})
    ));
}

#[test]
fn custom_resource_selectable_fields_validate_and_match() {
    let mut registry = crate::registry::Registry::builtin();
    registry
        .register_crd(&json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "selectableFields": [{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"}]}]}}))
        .unwrap();
    let widgets = registry.get("example.com", "v1", "widgets").unwrap();
    let s = FieldSelector::parse("spec.color=blue,metadata.name=w1")
        .unwrap()
        .validate_for_resource(widgets)
        .unwrap();
    assert!(s.matches_resource_object(
        widgets,
        &json!({"metadata": {"name": "w1"}, "spec": {"color": "blue"}})
    ));
    assert!(!s.matches_resource_object(
        widgets,
        &json!({"metadata": {"name": "w1"}, "spec": {"color": "red"}})
    ));
    let sized = FieldSelector::parse("spec.size=3")
        .unwrap()
        .validate_for_resource(widgets)
        .unwrap();
    assert!(sized.matches_resource_object(
        widgets,
        &json!({"metadata": {"name": "w1"}, "spec": {"size": 3}})
    ));
    let err = FieldSelector::parse("spec.shape=round")
        .unwrap()
        .validate_for_resource(widgets)
        .unwrap_err();
    assert_eq!(err.to_string(), "field label not supported: spec.shape");
    let pods = registry.get("", "v1", "pods").unwrap();
    assert!(FieldSelector::parse("status.phase=Running")
        .unwrap()
        .validate_for_resource(pods)
        .is_ok());
}
