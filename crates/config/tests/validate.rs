//! Every validation rule, reported with the field path and where the value came from.

mod common;

use clusterctl_config::{ClusterConfig, Origin, Overrides, Provider};
use common::{valid, validation_lines};

fn eks(body: &str) -> String {
    format!("provider: eks\n{body}")
}

#[test]
fn several_problems_are_reported_at_once_in_file_order() {
    let lines = validation_lines(
        "metadata:\n  name: Dev\nprovider: local\nkubernetesVersion: \"1.26\"\nnetworking:\n  podSubnet: 10.96.0.0/16\n  serviceSubnet: 10.96.0.0/12\nlocal:\n  servers: 0\n",
    );
    assert_eq!(
        lines,
        [
            "cluster.yaml:4: metadata.name: \"Dev\" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
            "cluster.yaml:6: kubernetesVersion: 1.26 is not supported (supported: 1.27 to 1.33)",
            "cluster.yaml:9: networking.serviceSubnet: overlaps podSubnet 10.96.0.0/16",
            "cluster.yaml:11: local.servers: must be >= 1 (is 0)",
        ]
    );
}

#[test]
fn errors_display_one_per_line() {
    let text = common::validation_errors("local:\n  servers: 0\n  workers: -1\n").to_string();
    assert_eq!(
        text,
        "cluster.yaml:4: local.servers: must be >= 1 (is 0)\ncluster.yaml:5: local.workers: must be >= 0 (is -1)"
    );
}

#[test]
fn min_above_max_is_reported_at_the_min_size_line() {
    let body = eks("nodeGroups:\n  - name: a\n  - name: b\n    desiredCapacity: 2\n    minSize: 3\n    maxSize: 2\n");
    assert_eq!(
        validation_lines(&body),
        ["cluster.yaml:8: nodeGroups[1].minSize: must be <= maxSize (3 > 2)"]
    );
}

#[test]
fn desired_outside_min_and_max_is_reported() {
    let below = eks("nodeGroups:\n  - {name: a, desiredCapacity: 1, minSize: 2, maxSize: 3}\n");
    assert_eq!(
        validation_lines(&below),
        ["cluster.yaml:5: nodeGroups[0].desiredCapacity: must be >= minSize (1 < 2)"]
    );
    let above = eks("nodeGroups:\n  - {name: a, desiredCapacity: 5, maxSize: 3}\n");
    assert_eq!(
        validation_lines(&above),
        ["cluster.yaml:5: nodeGroups[0].desiredCapacity: must be <= maxSize (5 > 3)"]
    );
}

#[test]
fn negative_sizes_are_rejected() {
    let lines = validation_lines(&eks(
        "nodeGroups:\n  - name: a\n    desiredCapacity: -1\n    minSize: -2\n    maxSize: 3\n",
    ));
    assert_eq!(
        lines,
        [
            "cluster.yaml:6: nodeGroups[0].desiredCapacity: must be >= 0 (is -1)",
            "cluster.yaml:7: nodeGroups[0].minSize: must be >= 0 (is -2)",
        ]
    );
}

#[test]
fn zero_max_size_is_rejected() {
    let lines = validation_lines(&eks(
        "nodeGroups:\n  - {name: a, desiredCapacity: 0, minSize: 0, maxSize: 0}\n",
    ));
    assert_eq!(
        lines,
        ["cluster.yaml:5: nodeGroups[0].maxSize: must be at least 1"]
    );
}

#[test]
fn duplicate_node_group_names_are_rejected() {
    let lines = validation_lines(&eks("nodeGroups:\n  - name: workers\n  - name: workers\n"));
    assert_eq!(lines, ["cluster.yaml:6: nodeGroups[1].name: duplicate node group name \"workers\" (also nodeGroups[0])"]);
}

#[test]
fn node_group_names_follow_each_cloud() {
    let aks = validation_lines("provider: aks\nnodeGroups:\n  - name: ng-1\n");
    assert_eq!(aks.len(), 1);
    assert!(
        aks[0].starts_with(
            "cluster.yaml:5: nodeGroups[0].name: \"ng-1\" is not a valid aks agent pool name"
        ),
        "{aks:?}"
    );
    valid("provider: aks\nnodeGroups:\n  - name: pool1\n");
    valid(&eks("nodeGroups:\n  - name: Ng_1\n"));
}

#[test]
fn instance_types_follow_each_cloud() {
    let lines = validation_lines(&eks("nodeGroups:\n  - instanceType: e2-medium\n"));
    assert_eq!(lines, ["cluster.yaml:5: nodeGroups[0].instanceType: \"e2-medium\" is not an ec2 instance type like t3.medium"]);
    let gke = validation_lines(
        "gke: {project: my-project}\nnodeGroups:\n  - instanceType: Standard_DS2_v2\n",
    );
    assert!(
        gke[0].contains("is not a machine type like e2-medium"),
        "{gke:?}"
    );
}

#[test]
fn label_keys_and_values_follow_kubernetes_syntax() {
    let lines = validation_lines(&eks(
        "nodeGroups:\n  - labels:\n      Example.com/role: x\n      ok: \"bad value\"\n      node.kubernetes.io/role: worker\n",
    ));
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "cluster.yaml:6: nodeGroups[0].labels[\"Example.com/role\"]: key prefix: "
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "cluster.yaml:7: nodeGroups[0].labels.ok: \"bad value\" is not a valid label value"
        ),
        "{}",
        lines[1]
    );
}

#[test]
fn taint_keys_values_and_duplicates_are_checked() {
    let lines = validation_lines(&eks(
        "nodeGroups:\n  - taints:\n      - {key: -gpu, effect: NoSchedule}\n      - {key: gpu, value: \"a b\", effect: NoExecute}\n      - {key: gpu, effect: NoExecute}\n",
    ));
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "cluster.yaml:6: nodeGroups[0].taints[0].key: \"-gpu\" is not a valid key"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("cluster.yaml:7: nodeGroups[0].taints[1].value: "),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "cluster.yaml:8: nodeGroups[0].taints[2]: duplicate taint gpu:NoExecute (also taints[1])"
    );
}

#[test]
fn volume_size_range_depends_on_the_cloud() {
    let aks = validation_lines("provider: aks\nnodeGroups:\n  - volumeSize: 20\n");
    assert_eq!(aks, ["cluster.yaml:5: nodeGroups[0].volumeSize: must be between 30 and 2048 GiB on aks (is 20)"]);
    valid(&eks("nodeGroups:\n  - volumeSize: 20\n"));
}

#[test]
fn node_groups_are_rejected_for_local_and_ssh() {
    let lines = validation_lines("provider: local\nnodeGroups:\n  - name: ng-1\n");
    assert_eq!(lines, ["cluster.yaml:4: nodeGroups: not used by local: set node counts with local.servers and local.workers"]);
}

#[test]
fn cluster_name_rules_depend_on_the_provider() {
    let long_gke = format!(
        "gke: {{project: my-project}}\nmetadata:\n  name: {}\n",
        "a".repeat(41)
    );
    assert_eq!(
        validation_lines(&long_gke),
        ["cluster.yaml:5: metadata.name: must be at most 40 characters (is 41)"]
    );
    valid(&eks("metadata:\n  name: My_Cluster\n"));
    assert!(validation_lines("metadata:\n  name: My_Cluster\n")[0].contains("DNS-1123"));
}

#[test]
fn region_format_depends_on_the_provider() {
    let lines = validation_lines(&eks("metadata:\n  region: us-central1\n"));
    assert_eq!(
        lines,
        ["cluster.yaml:5: metadata.region: \"us-central1\" is not an aws region like us-west-2"]
    );
    let aks = validation_lines("provider: aks\nmetadata:\n  region: West Europe\n");
    assert!(aks[0].contains("azure location short name"), "{aks:?}");
    valid("gke: {project: my-project}\nmetadata:\n  region: us-central1-a\n");
}

#[test]
fn region_is_required_for_clouds_when_not_defaulted() {
    let errors = ClusterConfig::new(Provider::Aks).validate().unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(&"(default): metadata.region: required for aks".to_owned()),
        "{lines:#?}"
    );
}

#[test]
fn version_format_and_range_are_checked() {
    let lines = validation_lines("kubernetesVersion: v1.32\n");
    assert_eq!(lines, ["cluster.yaml:3: kubernetesVersion: \"v1.32\" is not a version like 1.32 or 1.32.4 (drop the leading v)"]);
    assert_eq!(
        validation_lines("kubernetesVersion: 1.34.0\n"),
        ["cluster.yaml:3: kubernetesVersion: 1.34.0 is not supported (supported: 1.27 to 1.33)"]
    );
    assert_eq!(
        validation_lines(&eks("kubernetesVersion: 1.32.4\n")),
        ["cluster.yaml:4: kubernetesVersion: eks picks the patch release itself, give only the minor version 1.32"]
    );
    valid("kubernetesVersion: 1.27.16\n");
}

#[test]
fn cidrs_must_parse_and_not_overlap() {
    let lines =
        validation_lines("networking:\n  podSubnet: 10.244.0.1/16\n  serviceSubnet: 10.96.0/12\n");
    assert_eq!(
        lines,
        [
            "cluster.yaml:4: networking.podSubnet: \"10.244.0.1/16\" has host bits set, did you mean 10.244.0.0/16",
            "cluster.yaml:5: networking.serviceSubnet: \"10.96.0/12\" is not a CIDR like 10.244.0.0/16",
        ]
    );
    let overlap =
        validation_lines("networking:\n  podSubnet: 10.0.0.0/8\n  serviceSubnet: 10.96.0.0/12\n");
    assert_eq!(
        overlap,
        ["cluster.yaml:5: networking.serviceSubnet: overlaps podSubnet 10.0.0.0/8"]
    );
}

#[test]
fn cidr_sizes_are_checked() {
    let lines =
        validation_lines("networking:\n  podSubnet: 10.244.0.0/25\n  serviceSubnet: 10.0.0.0/11\n");
    assert_eq!(
        lines,
        [
            "cluster.yaml:4: networking.podSubnet: /25 is too small: each node takes a /24",
            "cluster.yaml:5: networking.serviceSubnet: /11 is too large: the largest service range is /12",
        ]
    );
}

#[test]
fn eks_rejects_pod_subnet_and_service_range_in_the_vpc() {
    let lines = validation_lines(&eks(
        "networking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 192.168.0.0/20\n",
    ));
    assert_eq!(
        lines,
        [
            "cluster.yaml:5: networking.podSubnet: not used by eks: pods take addresses from the vpc subnets (vpc cni)",
            "cluster.yaml:6: networking.serviceSubnet: overlaps eks.vpc.cidr 192.168.0.0/16",
        ]
    );
}

#[test]
fn api_server_endpoint_is_checked_and_only_for_clusterd_providers() {
    let lines =
        validation_lines("networking:\n  apiServerPort: 70000\n  apiServerAddress: localhost\n");
    assert_eq!(
        lines,
        [
            "cluster.yaml:4: networking.apiServerPort: must be between 0 and 65535 (is 70000)",
            "cluster.yaml:5: networking.apiServerAddress: \"localhost\" is not an ip address",
        ]
    );
    let cloud = validation_lines(&eks("networking:\n  apiServerPort: 443\n"));
    assert_eq!(cloud, ["cluster.yaml:5: networking.apiServerPort: not used by eks: the cloud runs the api server"]);
}

#[test]
fn another_providers_block_is_named() {
    let lines = validation_lines("provider: local\naks:\n  resourceGroup: rg\n");
    assert_eq!(
        lines,
        ["cluster.yaml:4: aks: settings for provider aks, but provider is local (remove the block or set provider: aks)"]
    );
}

#[test]
fn local_counts_must_be_sane() {
    let lines = validation_lines("local:\n  servers: 0\n  workers: -1\n");
    assert_eq!(
        lines,
        [
            "cluster.yaml:4: local.servers: must be >= 1 (is 0)",
            "cluster.yaml:5: local.workers: must be >= 0 (is -1)"
        ]
    );
}

#[test]
fn port_mapping_collisions_are_reported() {
    let lines = validation_lines(
        "networking:\n  apiServerPort: 6443\nlocal:\n  portMappings:\n    - {containerPort: 30080, hostPort: 8080}\n    - {containerPort: 30081, hostPort: 8080, listenAddress: 127.0.0.1}\n    - {containerPort: 30082, hostPort: 8080, protocol: UDP}\n    - {containerPort: 30083, hostPort: 6443}\n    - {containerPort: 0, hostPort: 0}\n",
    );
    assert_eq!(
        lines,
        [
            "cluster.yaml:8: local.portMappings[1].hostPort: 8080/TCP on 127.0.0.1 is already published by local.portMappings[0]",
            "cluster.yaml:10: local.portMappings[3].hostPort: 6443/TCP on 127.0.0.1 is already published by networking.apiServerPort",
            "cluster.yaml:11: local.portMappings[4].containerPort: must be between 1 and 65535 (is 0)",
        ]
    );
}

#[test]
fn mounts_need_an_absolute_container_path() {
    let lines =
        validation_lines("local:\n  mounts:\n    - {hostPath: \"\", containerPath: data}\n");
    assert_eq!(
        lines,
        [
            "cluster.yaml:5: local.mounts[0].hostPath: must not be empty",
            "cluster.yaml:5: local.mounts[0].containerPath: \"data\" must be an absolute path",
        ]
    );
}

#[test]
fn local_node_labels_and_taints_are_checked_where_they_are_written() {
    let lines = validation_lines(
        "local:\n  workers: 1\n  workerLabels:\n    tier: web\n    \"bad key!\": x\n  serverTaints:\n    - {key: dedicated, value: control, effect: NoSchedule}\n    - {key: dedicated, effect: NoSchedule}\n",
    );
    assert_eq!(
        lines,
        [
            "cluster.yaml:7: local.workerLabels[\"bad key!\"]: \"bad key!\" is not a valid key (letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters)",
            "cluster.yaml:10: local.serverTaints[1]: duplicate taint dedicated:NoSchedule (also taints[0])",
        ]
    );
    valid("local:\n  serverTaints: [{key: dedicated, effect: PreferNoSchedule}]\n  workerLabels: {tier: web}\n");
}

#[test]
fn ssh_needs_hosts() {
    assert_eq!(
        validation_lines("provider: ssh\n"),
        ["cluster.yaml:3: ssh.hosts: at least one host is required (ssh.hosts or --hosts)"]
    );
    let flags = Overrides {
        provider: Some(Provider::Ssh),
        ..Overrides::default()
    };
    let err = ClusterConfig::new(Provider::Local)
        .resolve(&flags)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid cluster config:\n(from flags): ssh.hosts: at least one host is required (ssh.hosts or --hosts)"
    );
}

#[test]
fn ssh_needs_a_server() {
    let lines = validation_lines("ssh:\n  hosts:\n    - {address: 10.0.0.5, role: agent}\n");
    assert_eq!(
        lines,
        ["cluster.yaml:4: ssh.hosts: at least one host must have role: server"]
    );
}

#[test]
fn ssh_hosts_addresses_ports_users_and_duplicates_are_checked() {
    let lines = validation_lines(
        "ssh:\n  hosts:\n    - {address: 10.0.0.5, user: \"Root Admin\"}\n    - {address: \"bad host\", port: 0}\n    - address: 10.0.0.5\n      bastion: {address: jump.example.com, port: 65536}\n",
    );
    assert_eq!(
        lines,
        [
            "cluster.yaml:5: ssh.hosts[0].user: \"Root Admin\" is not a valid login name",
            "cluster.yaml:6: ssh.hosts[1].address: \"bad host\" is not an ip address or dns name",
            "cluster.yaml:6: ssh.hosts[1].port: must be between 1 and 65535 (is 0)",
            "cluster.yaml:7: ssh.hosts[2].address: duplicate host 10.0.0.5:22 (also ssh.hosts[0])",
            "cluster.yaml:8: ssh.hosts[2].bastion.port: must be between 1 and 65535 (is 65536)",
        ]
    );
}

#[test]
fn eks_vpc_and_iam_ids_are_checked() {
    let lines = validation_lines(&eks(
        "eks:\n  vpc:\n    id: vpc-123\n    subnets:\n      private: [subnet-12345678]\n  iam:\n    serviceRoleARN: arn:aws:iam::123:role/x\n",
    ));
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("cluster.yaml:6: eks.vpc.id: \"vpc-123\" is not a vpc id"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "cluster.yaml:7: eks.vpc.subnets: an existing vpc needs at least two subnets, in different availability zones");
    assert!(
        lines[2].starts_with("cluster.yaml:10: eks.iam.serviceRoleARN: "),
        "{}",
        lines[2]
    );
}

#[test]
fn eks_subnets_need_a_vpc_id() {
    let lines = validation_lines(&eks(
        "eks:\n  vpc:\n    subnets:\n      public: [subnet-12345678, subnet-87654321]\n",
    ));
    assert_eq!(
        lines,
        ["cluster.yaml:6: eks.vpc.subnets: subnets of an existing vpc need eks.vpc.id"]
    );
}

#[test]
fn gke_needs_a_project() {
    let lines = validation_lines("provider: gke\n");
    assert_eq!(lines, ["cluster.yaml:3: gke.project: required for gke"]);
    let bad = validation_lines("gke: {project: My Project}\n");
    assert!(
        bad[0].starts_with("cluster.yaml:3: gke.project: \"My Project\" is not a gcp project id"),
        "{bad:?}"
    );
}

#[test]
fn aks_ids_are_checked() {
    let lines = validation_lines("aks:\n  resourceGroup: \"rg.\"\n  subscriptionId: not-a-uuid\n");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("cluster.yaml:4: aks.resourceGroup: "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("cluster.yaml:5: aks.subscriptionId: \"not-a-uuid\" is not a uuid"),
        "{}",
        lines[1]
    );
}

#[test]
fn tags_follow_each_cloud() {
    let gke = validation_lines("gke: {project: my-project}\nmetadata:\n  tags: {Team: x}\n");
    assert!(
        gke[0].starts_with("cluster.yaml:5: metadata.tags.Team: gcp label key \"Team\""),
        "{gke:?}"
    );
    let eks_lines = validation_lines(&eks("metadata:\n  tags: {\"aws:owner\": x}\n"));
    assert_eq!(eks_lines, ["cluster.yaml:5: metadata.tags[\"aws:owner\"]: tag key \"aws:owner\" uses the reserved aws: prefix"]);
}

#[test]
fn values_set_by_flags_say_so() {
    let config =
        common::parse("provider: eks\nnodeGroups:\n  - name: ng-1\n    maxSize: 3\n").unwrap();
    let flags = Overrides {
        nodes: Some(5),
        version: Some("1.99".into()),
        ..Overrides::default()
    };
    let err = config.resolve(&flags).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid cluster config:\n\
         (from flags): kubernetesVersion: 1.99 is not supported (supported: 1.27 to 1.33)\n\
         (from flags): nodeGroups[0].desiredCapacity: must be <= maxSize (5 > 3)"
    );
}

#[test]
fn flag_made_hosts_are_blamed_on_flags_not_on_the_file() {
    let config = common::parse("ssh:\n  hosts:\n    - address: 10.0.0.5\n").unwrap();
    let flags = Overrides {
        hosts: vec!["root@10.0.0.9:0".into()],
        ..Overrides::default()
    };
    let errors = config
        .merged(&flags)
        .unwrap()
        .defaulted()
        .validate()
        .unwrap_err();
    let first = errors.iter().next().unwrap();
    assert_eq!(first.origin, Origin::Flags);
    assert_eq!(
        first.to_string(),
        "(from flags): ssh.hosts[0].port: must be between 1 and 65535 (is 0)"
    );
}

#[test]
fn config_built_from_flags_alone_is_valid() {
    let flags = Overrides {
        name: Some("ci".into()),
        workers: Some(2),
        ..Overrides::default()
    };
    let config = ClusterConfig::new(Provider::Local).resolve(&flags).unwrap();
    assert_eq!(config.local.unwrap().workers, Some(2));
}

#[test]
fn registry_mirrors_must_be_http_urls_reported_at_their_line() {
    let lines = validation_lines(
        "registries:\n  mirrors:\n    docker.io:\n      - http://10.0.0.5:5000\n      - ftp://10.0.0.6\n    \"bad/name\":\n      - https://m.local\n",
    );
    assert_eq!(
        lines,
        [
            "cluster.yaml:7: registries.mirrors[\"docker.io\"][1]: mirror URL \"ftp://10.0.0.6\" must start with http:// or https://",
            "cluster.yaml:8: registries.mirrors[\"bad/name\"]: registry \"bad/name\" is not a host name with an optional port (e.g. docker.io)",
        ]
    );
    let config =
        valid("registries:\n  mirrors:\n    docker.io: [http://10.0.0.5:5000, https://m.local]\n");
    assert_eq!(
        config.registries.mirror_specs(),
        [
            "docker.io=http://10.0.0.5:5000",
            "docker.io=https://m.local"
        ]
    );
}
