//! What a config that says nothing becomes, per provider.

mod common;

use clusterctl_config::{ClusterConfig, Protocol, Provider, SshRole};
use common::{parse, valid};

#[test]
fn every_provider_defaults_to_a_valid_config() {
    for provider in Provider::ALL {
        let mut config = ClusterConfig::new(provider);
        if provider == Provider::Gke {
            config.gke = Some(clusterctl_config::GkeConfig {
                project: Some("my-project".into()),
                ..Default::default()
            });
        }
        if provider == Provider::Ssh {
            config.ssh = Some(clusterctl_config::SshConfig {
                hosts: vec![clusterctl_config::SshHost {
                    address: "10.0.0.5".into(),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        let defaulted = config.defaulted();
        assert_eq!(
            defaulted.metadata.name.as_deref(),
            Some("clusterctl"),
            "{provider}"
        );
        assert_eq!(
            defaulted.kubernetes_version.as_deref(),
            Some("1.32"),
            "{provider}"
        );
        if let Err(errors) = defaulted.validate() {
            panic!("{provider} defaults are invalid:\n{errors}");
        }
    }
}

#[test]
fn managed_clouds_get_one_node_group_of_two_nodes() {
    let cases = [
        (Provider::Eks, "us-west-2", "ng-1", "t3.medium", 80),
        (Provider::Gke, "us-central1", "ng-1", "e2-medium", 100),
        (Provider::Aks, "eastus", "ng1", "Standard_DS2_v2", 128),
    ];
    for (provider, region, name, instance_type, volume) in cases {
        let config = ClusterConfig::new(provider).defaulted();
        assert_eq!(config.metadata.region.as_deref(), Some(region));
        let [group] = config.node_groups.as_slice() else {
            panic!(
                "{provider}: expected one node group, got {:?}",
                config.node_groups
            )
        };
        assert_eq!(group.name.as_deref(), Some(name));
        assert_eq!(group.instance_type.as_deref(), Some(instance_type));
        assert_eq!(
            (group.desired_capacity, group.min_size, group.max_size),
            (Some(2), Some(2), Some(2))
        );
        assert_eq!(group.volume_size, Some(volume));
    }
}

#[test]
fn min_and_max_follow_desired_like_eksctl() {
    let config = parse("provider: eks\nnodeGroups:\n  - desiredCapacity: 5\n  - minSize: 3\n  - maxSize: 1\n  - {minSize: 1, maxSize: 4}\n")
        .unwrap()
        .defaulted();
    let sizes: Vec<_> = config
        .node_groups
        .iter()
        .map(|g| {
            (
                g.desired_capacity.unwrap(),
                g.min_size.unwrap(),
                g.max_size.unwrap(),
            )
        })
        .collect();
    assert_eq!(sizes, [(5, 5, 5), (3, 3, 3), (1, 1, 1), (2, 1, 4)]);
    let names: Vec<_> = config
        .node_groups
        .iter()
        .map(|g| g.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["ng-1", "ng-2", "ng-3", "ng-4"]);
}

#[test]
fn networking_defaults_per_provider() {
    let net = |p: Provider| ClusterConfig::new(p).defaulted().networking;
    let local = net(Provider::Local);
    assert_eq!(local.pod_subnet.as_deref(), Some("10.244.0.0/16"));
    assert_eq!(local.service_subnet.as_deref(), Some("10.96.0.0/12"));
    assert_eq!(local.api_server_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(local.api_server_port, Some(0));
    assert_eq!(net(Provider::Ssh).api_server_port, Some(6443));
    let eks = net(Provider::Eks);
    assert_eq!(
        (eks.pod_subnet, eks.service_subnet.as_deref()),
        (None, Some("10.100.0.0/16"))
    );
    let aks = net(Provider::Aks);
    assert_eq!(aks.service_subnet.as_deref(), Some("10.0.0.0/16"));
    assert!(net(Provider::Gke).is_empty(), "gke chooses its own ranges");
}

#[test]
fn local_defaults_to_one_server_and_a_matching_image() {
    let config =
        valid("kubernetesVersion: \"1.31\"\nlocal:\n  portMappings:\n    - containerPort: 30080\n");
    let local = config.local.unwrap();
    assert_eq!((local.servers, local.workers), (Some(1), Some(0)));
    assert_eq!(local.image.as_deref(), Some("clusterctl/node:v1.31"));
    let mapping = &local.port_mappings[0];
    assert_eq!(mapping.host_port, Some(0));
    assert_eq!(mapping.listen_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(mapping.protocol, Some(Protocol::Tcp));
}

#[test]
fn ssh_hosts_default_to_root_on_port_22_with_the_first_as_server() {
    let config = valid("ssh:\n  hosts:\n    - address: a.example.com\n    - address: b.example.com\n      bastion: {address: jump.example.com}\n");
    let ssh = config.ssh.unwrap();
    let roles: Vec<_> = ssh.hosts.iter().map(|h| h.role.unwrap()).collect();
    assert_eq!(roles, [SshRole::Server, SshRole::Agent]);
    assert!(ssh
        .hosts
        .iter()
        .all(|h| h.user.as_deref() == Some("root") && h.port == Some(22)));
    let bastion = ssh.hosts[1].bastion.as_ref().unwrap();
    assert_eq!(
        (bastion.user.as_deref(), bastion.port),
        (Some("root"), Some(22))
    );
    assert_eq!(ssh.known_hosts.as_deref(), Some("~/.ssh/known_hosts"));
}

#[test]
fn an_explicit_server_keeps_the_others_agents() {
    let config = valid("ssh:\n  hosts:\n    - address: a.example.com\n    - {address: b.example.com, role: server}\n");
    let roles: Vec<_> = config
        .ssh
        .unwrap()
        .hosts
        .iter()
        .map(|h| h.role.unwrap())
        .collect();
    assert_eq!(roles, [SshRole::Agent, SshRole::Server]);
}

#[test]
fn cloud_blocks_get_their_defaults() {
    let eks = ClusterConfig::new(Provider::Eks).defaulted().eks.unwrap();
    assert_eq!(eks.managed, Some(true));
    assert_eq!(eks.vpc.unwrap().cidr.as_deref(), Some("192.168.0.0/16"));
    let existing = valid("provider: eks\neks:\n  vpc:\n    id: vpc-0123456789abcdef0\n    subnets:\n      private: [subnet-12345678, subnet-87654321]\n");
    assert_eq!(
        existing.eks.unwrap().vpc.unwrap().cidr,
        None,
        "an existing vpc keeps its own cidr"
    );
    let aks = valid("provider: aks\nmetadata: {name: shop}\n")
        .aks
        .unwrap();
    assert_eq!(aks.resource_group.as_deref(), Some("shop-rg"));
    let gke = valid("gke: {project: my-project}\n").gke.unwrap();
    assert_eq!(gke.network.as_deref(), Some("default"));
}

#[test]
fn defaults_never_overwrite_what_the_file_says() {
    let text = "metadata: {name: dev, region: eu-west-1}\nprovider: eks\nkubernetesVersion: \"1.30\"\nnodeGroups:\n  - {name: big, instanceType: m5.large, desiredCapacity: 1, minSize: 0, maxSize: 9, volumeSize: 20}\n";
    let parsed = parse(text).unwrap();
    let defaulted = parsed.clone().defaulted();
    assert_eq!(defaulted.metadata, parsed.metadata);
    assert_eq!(defaulted.kubernetes_version, parsed.kubernetes_version);
    assert_eq!(defaulted.node_groups, parsed.node_groups);
    assert_eq!(
        defaulted.clone().defaulted(),
        defaulted,
        "defaulting twice changes nothing"
    );
}
