//! `--dry-run` prints the defaulted config; that output must read back as the same config.

mod common;

use clusterctl_config::{ClusterConfig, Provider};

fn round_trip(config: &ClusterConfig) {
    let yaml = config.to_yaml().unwrap();
    let back = ClusterConfig::from_yaml_str(&yaml, "dry-run.yaml")
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(&back, config, "round trip changed the config:\n{yaml}");
    assert_eq!(back.to_yaml().unwrap(), yaml, "printing twice differs");
}

#[test]
fn defaulted_config_of_every_provider_round_trips() {
    for provider in Provider::ALL {
        round_trip(&ClusterConfig::new(provider).defaulted());
    }
}

#[test]
fn every_field_round_trips() {
    let body = "metadata:\n  name: dev\n  region: us-west-2\n  tags: {team: platform, \"cost-center\": \"0042\", enabled: \"true\"}\nprovider: eks\nkubernetesVersion: \"1.30\"\nnodeGroups:\n  - name: gpu\n    instanceType: g5.xlarge\n    desiredCapacity: 0\n    minSize: 0\n    maxSize: 2\n    volumeSize: 200\n    labels: {example.com/gpu: \"true\", role: worker}\n    taints: [{key: nvidia.com/gpu, value: \"yes\", effect: NoSchedule}, {key: spot, effect: PreferNoSchedule}]\nnetworking:\n  serviceSubnet: 10.100.0.0/16\neks:\n  managed: false\n  vpc:\n    id: vpc-0123456789abcdef0\n    subnets: {public: [subnet-12345678], private: [subnet-87654321]}\n  iam: {serviceRoleARN: \"arn:aws:iam::123456789012:role/a\", nodeRoleARN: \"arn:aws:iam::123456789012:role/b\"}\n";
    let config = common::valid(body);
    round_trip(&config);
    let yaml = config.to_yaml().unwrap();
    assert!(
        yaml.contains("serviceRoleARN: arn:aws:iam::123456789012:role/a"),
        "{yaml}"
    );
    assert!(
        yaml.contains("kubernetesVersion: '1.30'"),
        "version stays a string: {yaml}"
    );
}

#[test]
fn local_and_ssh_details_round_trip() {
    let local = common::valid("local:\n  servers: 3\n  workers: 2\n  portMappings:\n    - {containerPort: 53, hostPort: 5353, listenAddress: \"::1\", protocol: UDP}\n  mounts:\n    - {hostPath: /tmp/x, containerPath: /x, readOnly: true}\n");
    round_trip(&local);
    let ssh = common::valid("ssh:\n  hosts:\n    - {address: \"fd00::5\", user: ubuntu, port: 2222, key: ~/.ssh/k, role: server, bastion: {address: jump.example.com, key: ~/.ssh/j}}\n  knownHosts: /etc/ssh/known\n");
    round_trip(&ssh);
}
