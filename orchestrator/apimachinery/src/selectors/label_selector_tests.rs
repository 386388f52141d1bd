use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
    LabelSelector::parse(selector)
        .unwrap()
        .matches(&labels(pairs))
}

#[test]
fn empty_selector_matches_everything() {
    let s = LabelSelector::parse("").unwrap();
    assert!(s.is_empty());
    assert!(s.matches(&labels(&[])));
    assert!(LabelSelector::parse("   ").unwrap().is_empty());
}

#[test]
fn equality_forms_match_equal_values_only() {
    assert!(matches("app=web", &[("app", "web")]));
    assert!(matches("app==web", &[("app", "web")]));
    assert!(!matches("app=web", &[("app", "db")]));
    assert!(!matches("app=web", &[]));
}

#[test]
fn not_equals_matches_missing_labels() {
    assert!(matches("app!=web", &[]));
    assert!(matches("app!=web", &[("app", "db")]));
    assert!(!matches("app!=web", &[("app", "web")]));
}

#[test]
fn set_operators_follow_upstream_semantics() {
    assert!(matches("env in (prod, staging)", &[("env", "staging")]));
    assert!(!matches("env in (prod,staging)", &[("env", "dev")]));
    assert!(!matches("env in (prod)", &[]));
    assert!(matches("env notin (prod)", &[]));
    assert!(matches("env notin (prod,staging)", &[("env", "dev")]));
    assert!(!matches("env notin (prod)", &[("env", "prod")]));
}

#[test]
fn existence_terms() {
    assert!(matches("canary", &[("canary", "")]));
    assert!(!matches("canary", &[]));
    assert!(matches("!canary", &[]));
    assert!(!matches("!canary", &[("canary", "yes")]));
}

#[test]
fn commas_and_whitespace_combine_terms_with_and() {
    let s = LabelSelector::parse(" app = web , tier in ( a , b ),!canary").unwrap();
    assert_eq!(s.requirements().len(), 3);
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "b")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "b"), ("canary", "1")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "c")])));
}

#[test]
fn prefixed_keys_parse() {
    assert!(matches(
        "kubernetes.io/service-name=web",
        &[("kubernetes.io/service-name", "web")]
    ));
    assert!(matches(
        "app.kubernetes.io/name in (x)",
        &[("app.kubernetes.io/name", "x")]
    ));
}

#[test]
fn empty_value_is_allowed_after_equals() {
    assert!(matches("app=", &[("app", "")]));
    assert!(!matches("app=", &[("app", "x")]));
}

#[test]
fn greater_and_less_compare_integers() {
    assert!(matches("gen>2", &[("gen", "3")]));
    assert!(!matches("gen>2", &[("gen", "2")]));
    assert!(matches("gen<2", &[("gen", "1")]));
    assert!(!matches("gen<2", &[("gen", "x")]));
    assert!(LabelSelector::parse("gen>x").is_err());
}

#[test]
fn malformed_selectors_are_rejected_with_the_selector_text() {
    for bad in [
        "app in ()",
        "app in (a",
        "app in a",
        ",",
        "app=web,",
        "=web",
        "a b",
        "in",
        "bad key=1",
        "-app=1",
    ] {
        let err = LabelSelector::parse(bad).expect_err(bad);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn invalid_values_are_rejected() {
    let err = LabelSelector::parse("app=-web").unwrap_err();
    assert!(
        err.to_string().contains("invalid label value \"-web\""),
        "{err}"
    );
    assert!(LabelSelector::parse(&format!("app={}", "a".repeat(64))).is_err());
}

#[test]
fn display_is_canonical_and_reparses() {
    let s = LabelSelector::parse("app==web,env in (a,b),!x,y").unwrap();
    assert_eq!(s.to_string(), "app=web,env in (a,b),!x,y");
    assert_eq!(LabelSelector::parse(&s.to_string()).unwrap(), s);
}

#[test]
fn matches_object_reads_metadata_labels() {
    let s = LabelSelector::parse("app=web").unwrap();
    assert!(s.matches_object(&json!({"metadata": {"labels": {"app": "web"}}})));
    assert!(!s.matches_object(&json!({"metadata": {}})));
    assert!(LabelSelector::parse("!app")
        .unwrap()
        .matches_object(&json!({"metadata": {}})));
}

#[test]
fn label_selector_object_combines_labels_and_expressions() {
    let object = metav1::LabelSelector {
        match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
        match_expressions: Some(vec![
            metav1::LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["fe".into(), "be".into()]),
            },
            metav1::LabelSelectorRequirement {
                key: "canary".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
        ]),
    };
    let s = LabelSelector::from_label_selector(&object).unwrap();
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("canary", "1")])));
    assert!(!s.matches(&labels(&[("app", "web")])));
}

#[test]
fn label_selector_object_rejects_bad_requirements() {
    let bad_operator =
        json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]});
    assert!(LabelSelector::from_label_selector_value(&bad_operator).is_err());
    let empty_in = json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]});
    let err = LabelSelector::from_label_selector_value(&empty_in).unwrap_err();
    assert!(
        err.to_string().contains("values set can't be empty"),
        "{err}"
    );
    let exists_with_values =
        json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]});
    assert!(LabelSelector::from_label_selector_value(&exists_with_values).is_err());
}

#[test]
fn empty_label_selector_object_matches_everything() {
    let s = LabelSelector::from_label_selector_value(&json!({})).unwrap();
    assert!(s.matches(&labels(&[("any", "thing")])));
}

#[test]
fn from_map_builds_equality_terms() {
    let selector = labels(&[("app", "web"), ("tier", "fe")]);
    let s = LabelSelector::from_map(&selector);
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("x", "y")])));
    assert!(!s.matches(&labels(&[("app", "web")])));
}
