//! Reading ClusterConfig files: what users see when the file is wrong in shape.

mod common;

use clusterctl_config::{ClusterConfig, ConfigError, Provider};
use common::{parse, parse_error, with_header};

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let err = parse_error("metadata:\n  name: dev\n   region: x: y\n");
    assert!(err.starts_with("cluster.yaml:5:"), "{err}");
    assert!(err.contains("malformed yaml"), "{err}");
}

#[test]
fn tab_indentation_is_a_syntax_error_at_the_tab() {
    let err = parse_error("metadata:\n\tname: dev\n");
    assert!(err.starts_with("cluster.yaml:4:"), "{err}");
    assert!(err.contains("tabs"), "{err}");
}

#[test]
fn duplicate_keys_are_rejected_at_the_second_key() {
    let err = parse_error("provider: local\nprovider: eks\n");
    assert_eq!(
        err,
        "cluster.yaml:4:1: malformed yaml: duplicated key in mapping"
    );
}

#[test]
fn unknown_field_names_path_line_and_expected_fields() {
    let err = parse_error("provider: eks\nnodeGroups:\n  - name: ng-1\n    minsize: 1\n");
    assert_eq!(
        err,
        "cluster.yaml:6:5: nodeGroups[0].minsize: unknown field, expected one of name, \
         instanceType, desiredCapacity, minSize, maxSize, labels, taints, volumeSize"
    );
}

#[test]
fn unknown_top_level_field_is_named() {
    let err = parse_error("metadata: {name: dev}\nnodes: 3\n");
    assert!(err.starts_with("cluster.yaml:4:1: nodes: unknown field, expected one of apiVersion, kind, metadata, provider"), "{err}");
}

#[test]
fn unknown_field_deep_in_a_provider_block() {
    let err = parse_error(
        "provider: eks\neks:\n  iam:\n    serviceRoleArn: arn:aws:iam::123456789012:role/x\n",
    );
    assert_eq!(
        err,
        "cluster.yaml:6:5: eks.iam.serviceRoleArn: unknown field, expected one of serviceRoleARN, nodeRoleARN"
    );
}

#[test]
fn wrong_api_version_names_the_supported_one() {
    let text = "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: []\n";
    let err = ClusterConfig::from_yaml_str(text, "kind.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "kind.yaml:1: apiVersion: unsupported value \"kind.x-k8s.io/v1alpha4\", expected clusterctl.io/v1alpha1"
    );
}

#[test]
fn wrong_kind_names_the_supported_one() {
    let text = "apiVersion: clusterctl.io/v1alpha1\nkind: ClusterConfig\n";
    let err = ClusterConfig::from_yaml_str(text, "c.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "c.yaml:2: kind: unsupported value \"ClusterConfig\", expected Cluster"
    );
}

#[test]
fn missing_api_version_is_reported_before_any_field() {
    let err = ClusterConfig::from_yaml_str("kind: Cluster\nfoo: bar\n", "c.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.yaml:1: apiVersion: missing, expected clusterctl.io/v1alpha1"
    );
}

#[test]
fn multiple_documents_are_rejected_naming_the_second() {
    let text = format!("{}---\n{}", with_header(""), with_header(""));
    let err = ClusterConfig::from_yaml_str(&text, "c.yaml").unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::MultipleDocuments {
                count: 2,
                line: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn empty_file_is_rejected() {
    let err = ClusterConfig::from_yaml_str("# only a comment\n", "c.yaml").unwrap_err();
    assert!(matches!(err, ConfigError::Empty { .. }), "{err}");
}

#[test]
fn non_mapping_document_is_rejected() {
    let err = ClusterConfig::from_yaml_str("- a\n- b\n", "c.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("c.yaml:1:1: (document): expected a mapping"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_field_and_value() {
    let err = parse_error("provider: eks\nnodeGroups:\n  - desiredCapacity: two\n");
    assert_eq!(err, "cluster.yaml:5:22: nodeGroups[0].desiredCapacity: expected an integer, found string \"two\"");
}

#[test]
fn unknown_provider_lists_the_known_ones() {
    let err = parse_error("provider: kind\n");
    assert_eq!(err, "cluster.yaml:3:11: provider: unsupported value \"kind\", expected one of eks, gke, aks, local, ssh");
}

#[test]
fn unknown_taint_effect_lists_the_kubernetes_ones() {
    let err =
        parse_error("provider: eks\nnodeGroups:\n  - taints: [{key: a, effect: NoScheduled}]\n");
    assert_eq!(
        err,
        "cluster.yaml:5:31: nodeGroups[0].taints[0].effect: unsupported value \"NoScheduled\", \
         expected one of NoSchedule, PreferNoSchedule, NoExecute"
    );
}

#[test]
fn missing_required_field_is_named_by_its_path() {
    let err = parse_error("local:\n  mounts:\n    - hostPath: /src\n");
    assert_eq!(
        err,
        "cluster.yaml:5:7: local.mounts[0].containerPath: required field is missing"
    );
}

#[test]
fn negative_port_is_a_type_error_with_its_line() {
    let err = parse_error("networking:\n  apiServerPort: -1\n");
    assert_eq!(
        err,
        "cluster.yaml:4:18: networking.apiServerPort: expected a non-negative integer, found integer `-1`"
    );
}

#[test]
fn unquoted_version_keeps_its_trailing_zero() {
    let config = parse("kubernetesVersion: 1.30\n").unwrap();
    assert_eq!(config.kubernetes_version.as_deref(), Some("1.30"));
}

#[test]
fn plain_scalars_read_as_strings_where_strings_are_expected() {
    let config = parse("metadata:\n  tags: {enabled: true, id: 0042}\n").unwrap();
    assert_eq!(config.metadata.tags["enabled"], "true");
    assert_eq!(config.metadata.tags["id"], "0042");
}

#[test]
fn provider_is_inferred_from_the_only_provider_block() {
    assert_eq!(
        parse("gke: {project: my-project}\n").unwrap().provider,
        Provider::Gke
    );
    assert_eq!(
        parse("metadata: {name: x}\n").unwrap().provider,
        Provider::Local
    );
    // An explicit provider is kept; the mismatch is for validation to report.
    assert_eq!(
        parse("provider: eks\ngke: {}\n").unwrap().provider,
        Provider::Eks
    );
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let config = parse(
        "provider: eks\nnodeGroups:\n  - name: a\n    labels: &l {role: worker}\n  - name: b\n    labels: *l\n",
    )
    .unwrap();
    assert_eq!(config.node_groups[1].labels["role"], "worker");
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, with_header("metadata:\n  nmae: dev\n")).unwrap();
    let err = ClusterConfig::load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:4:3: metadata.nmae: unknown field, expected one of name, region, tags",
            path.display()
        )
    );

    std::fs::write(&path, with_header("metadata:\n  name: dev\n")).unwrap();
    let config = ClusterConfig::load(&path).unwrap();
    assert_eq!(config.name(), "dev");
    assert_eq!(
        config.source_name(),
        Some(path.display().to_string().as_str())
    );
}

#[test]
fn load_of_a_missing_file_names_the_path() {
    let err = ClusterConfig::load("/nonexistent/cluster.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("read cluster config /nonexistent/cluster.yaml: "),
        "{err}"
    );
}

#[test]
fn core_tags_are_honoured_and_custom_tags_rejected() {
    let config = parse("kubernetesVersion: !!str 1.30\n").unwrap();
    assert_eq!(config.kubernetes_version.as_deref(), Some("1.30"));
    let err = parse_error("metadata:\n  name: !secret dev\n");
    assert_eq!(
        err,
        "cluster.yaml:4:9: metadata.name: unsupported yaml tag !secret"
    );
}

#[test]
fn expected_top_level_fields_are_exactly_the_schema() {
    let err = parse_error("nodes: 3\n");
    assert_eq!(
        err,
        "cluster.yaml:3:1: nodes: unknown field, expected one of apiVersion, kind, metadata, provider, \
         kubernetesVersion, nodeGroups, networking, registries, eks, gke, aks, local, ssh"
    );
}
