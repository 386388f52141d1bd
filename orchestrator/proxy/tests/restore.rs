//! The rendered rules against real iptables in a network namespace (no API server): every
//! feature's rules load, re-syncs are idempotent, stale chains go, and cleanup restores the
//! tables with foreign rules untouched.

mod common;

use clusterd_proxy::exec::CommandRunner;
use clusterd_proxy::model::service_ports;
use clusterd_proxy::{netfilter, NodeContext, Ruleset};
use common::{iptables_state, Lab};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

fn objects() -> (Vec<Service>, Vec<EndpointSlice>) {
    let services = json!([
        {"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.20",
            "externalTrafficPolicy": "Local", "sessionAffinity": "ClientIP", "externalIPs": ["192.0.2.9"],
            "ports": [{"name": "http", "port": 80, "nodePort": 30080}, {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]},
         "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.2"}]}}},
        {"metadata": {"name": "empty", "namespace": "default"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.21",
            "ports": [{"port": 80, "nodePort": 30081}]}},
        {"metadata": {"name": "api", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.22", "internalTrafficPolicy": "Local",
            "ports": [{"port": 443, "targetPort": 6443}]}}
    ]);
    let slices = json!([
        {"metadata": {"name": "web-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.1.2"], "nodeName": "node-a"}, {"addresses": ["10.244.2.2"], "nodeName": "node-b"}],
         "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}]},
        {"metadata": {"name": "api-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "api"}}, "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.2.7"], "nodeName": "node-b"}], "ports": [{"port": 6443}]}
    ]);
    (
        serde_json::from_value(services).unwrap(),
        serde_json::from_value(slices).unwrap(),
    )
}

#[test]
fn every_feature_loads_resyncs_idempotently_and_cleans_up() {
    require_root_netns!();
    let mut lab = Lab::new("rs");
    let node = lab.node("node", "10.244.1");
    let before = iptables_state(&node);
    let runner = CommandRunner::new(
        ["ip", "netns", "exec", node.as_str()]
            .map(String::from)
            .to_vec(),
    );
    let context = NodeContext {
        node_name: "node-a".into(),
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
    };
    let (services, slices) = objects();
    let full = Ruleset::build(&service_ports(&services, &slices), &context);
    netfilter::apply(&runner, &full).expect("rules load into iptables");
    let loaded = iptables_state(&node);
    for needle in [
        "-A PREROUTING -m comment --comment \"clusterd service portals\" -j CLUSTERD-SERVICES",
        "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"clusterd service portals\" -j CLUSTERD-SERVICES",
        "-j DNAT --to-destination 10.244.1.2:8080",
        "-p udp -m udp --dport 30053",
        "--rcheck --seconds 10800 --reap",
        "-d 172.18.0.2/32 -p tcp -m tcp --dport 80",
        "\"default/empty has no endpoints\" -j REJECT",
        "\"default/api has no local endpoints\" -j DROP",
    ] {
        assert!(loaded.contains(needle), "missing {needle}\n{loaded}");
    }
    // Our jumps come first in FORWARD (before Docker's), in order.
    let forward: Vec<&str> = loaded
        .lines()
        .filter(|l| l.starts_with("-A FORWARD "))
        .collect();
    assert!(forward[0].ends_with("-j CLUSTERD-SERVICES"), "{forward:?}");
    assert!(
        forward[1].ends_with("-j CLUSTERD-EXTERNAL-SERVICES"),
        "{forward:?}"
    );
    assert!(forward[2].ends_with("-j CLUSTERD-FORWARD"), "{forward:?}");
    assert_eq!(forward[3], "-A FORWARD -j DOCKER-USER");
    let postrouting: Vec<&str> = loaded
        .lines()
        .filter(|l| l.starts_with("-A POSTROUTING "))
        .collect();
    assert!(
        postrouting[0].ends_with("-j CLUSTERD-POSTROUTING"),
        "{postrouting:?}"
    );

    // The same rules again change nothing and add no second jump.
    netfilter::apply(&runner, &full).unwrap();
    assert_eq!(iptables_state(&node), loaded);

    // Without the web Service, its chains are gone.
    let smaller = Ruleset::build(&service_ports(&services[1..], &slices), &context);
    netfilter::apply(&runner, &smaller).unwrap();
    let after = iptables_state(&node);
    assert!(!after.contains("10.244.1.2:8080"), "{after}");
    let chains = |state: &str| {
        state
            .lines()
            .filter(|l| l.starts_with(":CLUSTERD-"))
            .count()
    };
    assert_eq!(
        chains(&after),
        smaller.nat_chains.len() + smaller.filter_chains.len(),
        "{after}"
    );
    assert!(chains(&after) < chains(&loaded));

    netfilter::cleanup(&runner).unwrap();
    assert_eq!(
        iptables_state(&node).replace("*nat\nCOMMIT\n", ""),
        before.replace("*nat\nCOMMIT\n", "")
    );
}

#[test]
fn sysctls_the_proxy_needs_are_switched_on() {
    require_root_netns!();
    let mut lab = Lab::new("sy");
    let node = lab.netns("node");
    let prefix = ["ip", "netns", "exec", node.as_str()];
    let keys = ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"];
    let bridge_nf = std::path::Path::new("/proc/sys/net/bridge").exists();
    for key in keys.iter().take(if bridge_nf { 2 } else { 1 }) {
        let setting = format!("{key}=0");
        common::sh(&[&prefix[..], &["sysctl", "-w", setting.as_str()]].concat());
    }
    let runner = CommandRunner::new(prefix.map(String::from).to_vec());
    let problems = clusterd_proxy::sysctl::ensure(&runner);
    assert!(problems.is_empty(), "{problems:?}");
    for key in keys.iter().take(if bridge_nf { 2 } else { 1 }) {
        let value = common::sh(&[&prefix[..], &["sysctl", "-n", key]].concat());
        assert_eq!(value.trim(), "1", "{key}");
    }
}
