//! Command-line flags over a file: flags win.

mod common;

use clusterctl_config::{merge, ConfigError, HostSpec, Origin, Overrides, Provider};
use common::parse;

const FILE: &str = "metadata:\n  name: dev\n  region: us-west-2\nprovider: eks\nkubernetesVersion: \"1.30\"\nnodeGroups:\n  - name: general\n    instanceType: t3.medium\n    desiredCapacity: 2\n  - name: gpu\n    instanceType: g5.xlarge\n";

#[test]
fn flags_win_over_the_file() {
    let flags = Overrides {
        name: Some("prod".into()),
        region: Some("eu-central-1".into()),
        version: Some("1.31".into()),
        node_type: Some("m5.large".into()),
        nodes: Some(4),
        ..Overrides::default()
    };
    let config = parse(FILE).unwrap().merged(&flags).unwrap().defaulted();
    config.validate().unwrap();
    assert_eq!(config.name(), "prod");
    assert_eq!(config.metadata.region.as_deref(), Some("eu-central-1"));
    assert_eq!(config.kubernetes_version(), "1.31");
    let general = &config.node_groups[0];
    assert_eq!(general.instance_type.as_deref(), Some("m5.large"));
    assert_eq!(
        (general.desired_capacity, general.min_size, general.max_size),
        (Some(4), Some(4), Some(4))
    );
    assert_eq!(
        config.node_groups[1].instance_type.as_deref(),
        Some("g5.xlarge"),
        "other groups untouched"
    );
}

#[test]
fn node_flags_target_the_named_group() {
    let flags = Overrides {
        nodegroup_name: Some("gpu".into()),
        nodes: Some(1),
        nodes_min: Some(0),
        nodes_max: Some(3),
        ..Overrides::default()
    };
    let config = merge(Some(parse(FILE).unwrap()), &flags).unwrap();
    let gpu = &config.node_groups[1];
    assert_eq!(
        (gpu.desired_capacity, gpu.min_size, gpu.max_size),
        (Some(1), Some(0), Some(3))
    );
    assert_eq!(config.node_groups[0].desired_capacity, Some(2));
    assert_eq!(config.origin_of("nodeGroups[1].maxSize"), Origin::Flags);
    assert_eq!(
        config.origin_of("nodeGroups[0].desiredCapacity"),
        Origin::File {
            source_name: "cluster.yaml".into(),
            line: 11
        }
    );
}

#[test]
fn a_named_group_that_does_not_exist_is_added() {
    let flags = Overrides {
        nodegroup_name: Some("spot".into()),
        node_type: Some("t3.large".into()),
        ..Overrides::default()
    };
    let config = parse(FILE).unwrap().resolve(&flags).unwrap();
    let names: Vec<_> = config
        .node_groups
        .iter()
        .map(|g| g.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["general", "gpu", "spot"]);
    assert_eq!(config.node_groups[2].desired_capacity, Some(2));
}

#[test]
fn nodes_flag_creates_a_group_when_there_is_none() {
    let flags = Overrides {
        provider: Some(Provider::Gke),
        nodes: Some(3),
        ..Overrides::default()
    };
    let config = merge(None, &flags).unwrap().defaulted();
    assert_eq!(config.provider, Provider::Gke);
    assert_eq!(config.node_groups.len(), 1);
    assert_eq!(config.node_groups[0].name.as_deref(), Some("ng-1"));
    assert_eq!(config.node_groups[0].desired_capacity, Some(3));
    assert_eq!(config.origin_of("nodeGroups[0].name"), Origin::Flags);
}

#[test]
fn hosts_flag_replaces_the_file_hosts() {
    let file = "ssh:\n  hosts:\n    - address: 10.0.0.5\n      key: ~/.ssh/a\n";
    let flags = Overrides {
        hosts: vec!["admin@10.0.1.1:2222".into(), "10.0.1.2".into()],
        ..Overrides::default()
    };
    let config = parse(file).unwrap().resolve(&flags).unwrap();
    let hosts = &config.ssh.unwrap().hosts;
    let seen: Vec<_> = hosts
        .iter()
        .map(|h| {
            let role = h.role.unwrap().to_string();
            (
                h.user.clone().unwrap(),
                h.address.clone(),
                h.port.unwrap(),
                h.key.clone(),
                role,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "admin".into(),
                "10.0.1.1".into(),
                2222,
                None,
                "server".into()
            ),
            ("root".into(), "10.0.1.2".into(), 22, None, "agent".into()),
        ]
    );
}

#[test]
fn a_malformed_hosts_entry_fails_the_merge() {
    let flags = Overrides {
        provider: Some(Provider::Ssh),
        hosts: vec!["10.0.0.5".into(), "root@[fd00::1".into()],
        ..Overrides::default()
    };
    let err = merge(None, &flags).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidHostSpec { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "invalid host \"root@[fd00::1\": missing ] after ipv6 address (expected [user@]address[:port])"
    );
}

#[test]
fn without_a_file_flags_describe_the_whole_cluster() {
    let flags = Overrides {
        provider: Some(Provider::Ssh),
        name: Some("lab".into()),
        hosts: vec!["10.0.0.5".into(), "10.0.0.6".into()],
        ..Overrides::default()
    };
    let config = merge(None, &flags).unwrap().defaulted();
    config.validate().unwrap();
    assert_eq!((config.provider, config.name()), (Provider::Ssh, "lab"));
    assert_eq!(config.ssh.unwrap().hosts.len(), 2);
    let local = merge(None, &Overrides::default()).unwrap();
    assert_eq!(
        local.provider,
        Provider::Local,
        "no file and no --provider: local"
    );
}

#[test]
fn workers_flag_sets_local_workers() {
    let flags = Overrides {
        workers: Some(2),
        ..Overrides::default()
    };
    let config = parse("local:\n  servers: 3\n  workers: 0\n")
        .unwrap()
        .resolve(&flags)
        .unwrap();
    let local = config.local.as_ref().unwrap();
    assert_eq!((local.servers, local.workers), (Some(3), Some(2)));
    assert_eq!(config.origin_of("local.workers"), Origin::Flags);
    assert!(matches!(
        config.origin_of("local.servers"),
        Origin::File { line: 4, .. }
    ));
}

#[test]
fn a_flag_for_another_provider_is_reported_as_from_flags() {
    let flags = Overrides {
        managed: Some(false),
        ..Overrides::default()
    };
    let err = parse("provider: local\n")
        .unwrap()
        .resolve(&flags)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid cluster config:\n(from flags): eks: settings for provider eks, but provider is local (remove the block or set provider: eks)"
    );
}

#[test]
fn no_flags_change_nothing() {
    let config = parse(FILE).unwrap();
    assert_eq!(
        config.clone().merged(&Overrides::default()).unwrap(),
        config
    );
}

#[test]
fn host_specs_parse_users_ports_and_ipv6() {
    let spec = |s: &str| s.parse::<HostSpec>().map(|h| (h.user, h.address, h.port));
    assert_eq!(spec("10.0.0.5").unwrap(), (None, "10.0.0.5".into(), None));
    assert_eq!(
        spec("ubuntu@node-1.example.com:2222").unwrap(),
        (
            Some("ubuntu".into()),
            "node-1.example.com".into(),
            Some(2222)
        )
    );
    assert_eq!(
        spec("root@[fd00::5]:22").unwrap(),
        (Some("root".into()), "fd00::5".into(), Some(22))
    );
    assert_eq!(spec("fd00::5").unwrap(), (None, "fd00::5".into(), None));
    assert_eq!(
        "node:ssh".parse::<HostSpec>().unwrap_err().to_string(),
        "invalid host \"node:ssh\": port is not a number (expected [user@]address[:port])"
    );
    assert!("@node".parse::<HostSpec>().is_err());
    assert!("root@".parse::<HostSpec>().is_err());
    for text in ["root@[fd00::5]:22", "ubuntu@n1:2222", "10.0.0.5"] {
        assert_eq!(text.parse::<HostSpec>().unwrap().to_string(), text);
    }
}
