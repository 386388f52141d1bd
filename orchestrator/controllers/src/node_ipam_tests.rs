use serde_json::{json, Value};

use super::*;
use crate::testing::state;

fn node(name: &str, cidr: Option<&str>) -> Value {
    match cidr {
        Some(c) => json!({"metadata": {"name": name}, "spec": {"podCIDR": c, "podCIDRs": [c]}}),
        None => json!({"metadata": {"name": name}, "spec": {}}),
    }
}

fn assigned(changes: &[Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Patch { target, patch } if target.kind == "Node" => {
                assert_eq!(patch["spec"]["podCIDRs"][0], patch["spec"]["podCIDR"]);
                Some((
                    target.name.clone(),
                    patch["spec"]["podCIDR"].as_str().unwrap().to_owned(),
                ))
            }
            _ => None,
        })
        .collect()
}

fn pair(name: &str, cidr: &str) -> (String, String) {
    (name.to_owned(), cidr.to_owned())
}

#[test]
fn new_nodes_get_distinct_slash_24s_of_the_cluster_cidr() {
    let s = state(vec![
        ("Node", node("a", None)),
        ("Node", node("b", None)),
        ("Node", node("c", None)),
    ]);
    assert_eq!(
        assigned(&reconcile_all(&s, &ControllersConfig::default())),
        vec![
            pair("a", "10.244.0.0/24"),
            pair("b", "10.244.1.0/24"),
            pair("c", "10.244.2.0/24")
        ]
    );
}

#[test]
fn ranges_in_use_are_never_given_again() {
    let s = state(vec![
        ("Node", node("a", Some("10.244.0.0/24"))),
        ("Node", node("b", Some("10.244.2.0/24"))),
        ("Node", node("c", None)),
        ("Node", node("d", None)),
    ]);
    assert_eq!(
        assigned(&reconcile_all(&s, &ControllersConfig::default())),
        vec![pair("c", "10.244.1.0/24"), pair("d", "10.244.3.0/24")]
    );
}

#[test]
fn nodes_with_a_range_are_left_alone() {
    let s = state(vec![("Node", node("a", Some("10.244.7.0/24")))]);
    assert_eq!(reconcile_all(&s, &ControllersConfig::default()), vec![]);
}

#[test]
fn a_deleted_nodes_range_is_free_again() {
    // "a" held 10.244.0.0/24 and is gone: the state (rebuilt from the node list) no longer has it.
    let s = state(vec![
        ("Node", node("b", Some("10.244.1.0/24"))),
        ("Node", node("c", None)),
    ]);
    assert_eq!(
        assigned(&reconcile_all(&s, &ControllersConfig::default())),
        vec![pair("c", "10.244.0.0/24")]
    );
}

#[test]
fn a_full_cluster_cidr_warns_instead_of_reusing_a_range() {
    let config = ControllersConfig {
        cluster_cidr: "10.10.0.0/23".into(),
        ..ControllersConfig::default()
    };
    let s = state(vec![
        ("Node", node("a", Some("10.10.0.0/24"))),
        ("Node", node("b", Some("10.10.1.0/24"))),
        ("Node", node("c", None)),
    ]);
    let changes = reconcile_all(&s, &config);
    assert_eq!(assigned(&changes), vec![]);
    assert!(matches!(
        &changes[..],
        [Change::Event {
            type_: "Warning",
            reason: "CIDRNotAvailable",
            ..
        }]
    ));
}

#[test]
fn terminating_nodes_get_nothing() {
    let mut n = node("a", None);
    n["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    n["metadata"]["finalizers"] = json!(["x"]);
    let s = state(vec![("Node", n)]);
    assert_eq!(reconcile_all(&s, &ControllersConfig::default()), vec![]);
}

#[test]
fn cidr_plans_reject_nonsense() {
    assert!(CidrPlan::new("10.244.0.0", 24).is_err());
    assert!(CidrPlan::new("10.244.0.0/16", 8).is_err());
    assert!(CidrPlan::new("10.244.0.0/16", 31).is_err());
    let plan = CidrPlan::new("10.244.0.0/16", 24).unwrap();
    assert_eq!(plan.capacity(), 256);
    assert_eq!(plan.range(255), "10.244.255.0/24");
    assert_eq!(plan.index_of("10.244.9.0/24"), Some(9));
    assert_eq!(plan.index_of("10.245.9.0/24"), None);
    assert_eq!(plan.index_of("10.244.9.0/25"), None);
}
