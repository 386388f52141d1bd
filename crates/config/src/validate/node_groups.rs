//! Rules on node groups: names, sizes, volumes, labels and taints.

use std::collections::{BTreeMap, HashMap};

use super::{names, Report};
use crate::cluster_config::ClusterConfig;
use crate::node_group::{NodeGroup, Taint};
use crate::provider::Provider;
use crate::yaml::path;

pub(super) fn check(config: &ClusterConfig, report: &mut Report<'_>) {
    let provider = config.provider;
    if !config.node_groups.is_empty() && !provider.is_managed_cloud() {
        let instead = match provider {
            Provider::Local => "set node counts with local.servers and local.workers",
            _ => "list the nodes in ssh.hosts",
        };
        report.error("nodeGroups", format!("not used by {provider}: {instead}"));
        return;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, group) in config.node_groups.iter().enumerate() {
        let at = path::item("nodeGroups", index);
        if let Some(name) = &group.name {
            report.check(format!("{at}.name"), names::node_group_name(provider, name));
            if let Some(first) = seen.insert(name, index) {
                report.error(
                    format!("{at}.name"),
                    format!("duplicate node group name {name:?} (also nodeGroups[{first}])"),
                );
            }
        }
        if let Some(instance_type) = &group.instance_type {
            report.check(
                format!("{at}.instanceType"),
                names::instance_type(provider, instance_type),
            );
        }
        check_sizes(provider, group, &at, report);
        check_labels_and_taints(&at, &group.labels, &group.taints, report);
    }
}

/// Labels (`<at>.labels`) and taints (`<at>.taints`) as Kubernetes accepts them, without duplicates.
pub(super) fn check_labels_and_taints(
    at: &str,
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
    report: &mut Report<'_>,
) {
    check_labels(&format!("{at}.labels"), labels, report);
    check_taints(&format!("{at}.taints"), taints, report);
}

/// Label keys and values at `at` as Kubernetes accepts them.
pub(super) fn check_labels(at: &str, labels: &BTreeMap<String, String>, report: &mut Report<'_>) {
    for (key, value) in labels {
        let label = path::child(at, key);
        report.check(label.clone(), names::qualified_name(key));
        report.check(label, names::label_value(value));
    }
}

/// Taints at `at` as Kubernetes accepts them, without a key and effect twice.
pub(super) fn check_taints(at: &str, taints: &[Taint], report: &mut Report<'_>) {
    let mut seen = HashMap::new();
    for (t, taint) in taints.iter().enumerate() {
        let taint_at = path::item(at, t);
        report.check(format!("{taint_at}.key"), names::qualified_name(&taint.key));
        if let Some(value) = &taint.value {
            report.check(format!("{taint_at}.value"), names::label_value(value));
        }
        if let Some(first) = seen.insert((&taint.key, taint.effect), t) {
            report.error(
                taint_at,
                format!(
                    "duplicate taint {}:{} (also taints[{first}])",
                    taint.key, taint.effect
                ),
            );
        }
    }
}

fn check_sizes(provider: Provider, group: &NodeGroup, at: &str, report: &mut Report<'_>) {
    let sizes = [
        ("desiredCapacity", group.desired_capacity),
        ("minSize", group.min_size),
        ("maxSize", group.max_size),
    ];
    let mut negative = false;
    for (field, value) in sizes {
        if let Some(value) = value.filter(|v| *v < 0) {
            report.error(
                format!("{at}.{field}"),
                format!("must be >= 0 (is {value})"),
            );
            negative = true;
        }
    }
    if negative {
        return;
    }
    if group.max_size == Some(0) {
        report.error(format!("{at}.maxSize"), "must be at least 1");
    }
    match (group.min_size, group.desired_capacity, group.max_size) {
        (Some(min), _, Some(max)) if min > max => {
            report.error(
                format!("{at}.minSize"),
                format!("must be <= maxSize ({min} > {max})"),
            );
        }
        (min, Some(desired), max) => {
            if let Some(min) = min.filter(|min| desired < *min) {
                report.error(
                    format!("{at}.desiredCapacity"),
                    format!("must be >= minSize ({desired} < {min})"),
                );
            }
            if let Some(max) = max.filter(|max| desired > *max) {
                report.error(
                    format!("{at}.desiredCapacity"),
                    format!("must be <= maxSize ({desired} > {max})"),
                );
            }
        }
        _ => {}
    }
    if let Some(size) = group.volume_size {
        let (min, max) = match provider {
            Provider::Eks => (1, 16_384),
            Provider::Gke => (10, 65_536),
            _ => (30, 2_048),
        };
        if !(min..=max).contains(&size) {
            report.error(
                format!("{at}.volumeSize"),
                format!("must be between {min} and {max} GiB on {provider} (is {size})"),
            );
        }
    }
}
