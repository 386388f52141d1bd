//! Golden-ish assertions on the rules of each feature.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Value};

use super::*;

fn node() -> NodeContext {
    NodeContext {
        node_name: "node-a".into(),
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
    }
}

fn service(name: &str, spec: Value) -> Service {
    serde_json::from_value(
        json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec}),
    )
    .unwrap()
}

/// A slice for `service` with `endpoints` as (ip, node, ready) on port `http` 8080.
fn slice(service: &str, endpoints: &[(&str, &str, bool)]) -> EndpointSlice {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(ip, node, ready)| json!({"addresses": [ip], "nodeName": node, "conditions": {"ready": ready, "serving": ready, "terminating": false}}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": format!("{service}-abc"), "namespace": "default", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
    }))
    .unwrap()
}

fn web(extra: Value) -> Service {
    let mut spec = json!({"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    service("web", spec)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn chain_of(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(':').filter(|c| c.starts_with(prefix)))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {prefix} chain in\n{text}"))
        .to_owned()
}

fn rules_of<'a>(text: &'a str, chain: &str) -> Vec<&'a str> {
    let prefix = format!("-A {chain} ");
    text.lines().filter(|l| l.starts_with(&prefix)).collect()
}

#[test]
fn chain_names_are_deterministic_and_fit_iptables() {
    let a = chain_name("CLUSTERD-SVC-", "default/web:http/tcp");
    assert_eq!(a, chain_name("CLUSTERD-SVC-", "default/web:http/tcp"));
    assert_ne!(a, chain_name("CLUSTERD-SVC-", "default/web:http/udp"));
    assert_eq!(a.len(), 27);
    assert!(a.len() <= 28);
}

#[test]
fn empty_cluster_still_has_the_base_chains() {
    let text = render(&[], &[], &node());
    assert!(text.starts_with("*filter\n:CLUSTERD-SERVICES - [0:0]\n:CLUSTERD-EXTERNAL-SERVICES - [0:0]\n:CLUSTERD-FORWARD - [0:0]\n"), "{text}");
    for rule in [
        "-A CLUSTERD-FORWARD -s 10.244.0.0/16 -m comment --comment \"traffic from pods\" -j ACCEPT",
        "-A CLUSTERD-FORWARD -d 10.244.0.0/16 -m comment --comment \"traffic to pods\" -j ACCEPT",
        "-A CLUSTERD-MARK-MASQ -j MARK --or-mark 0x4000",
        "-A CLUSTERD-POSTROUTING -s 10.244.0.0/16 -d 10.244.0.0/16 -m mark ! --mark 0x4000/0x4000 -m comment --comment \"no NAT between pods\" -j ACCEPT",
        "-A CLUSTERD-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A CLUSTERD-POSTROUTING -j MARK --xor-mark 0x4000",
        "-A CLUSTERD-POSTROUTING -m comment --comment \"service traffic requiring SNAT\" -j MASQUERADE --random-fully",
    ] {
        assert!(lines(&text).contains(&rule), "missing {rule}\n{text}");
    }
    assert_eq!(text.matches("COMMIT\n").count(), 2);
    // Nothing but our chains is declared or written.
    for line in text.lines() {
        if let Some(chain) = line.strip_prefix(':') {
            assert!(chain.starts_with("CLUSTERD-"), "{line}");
        }
        if let Some(rule) = line.strip_prefix("-A ") {
            assert!(rule.starts_with("CLUSTERD-"), "{line}");
        }
    }
}

#[test]
fn cluster_ip_balances_randomly_over_ready_endpoints() {
    let text = render(
        &[web(json!({}))],
        &[slice(
            "web",
            &[
                ("10.244.1.2", "node-a", true),
                ("10.244.2.2", "node-b", true),
                ("10.244.2.3", "node-b", true),
                ("10.244.2.9", "node-b", false),
            ],
        )],
        &node(),
    );
    let svc = chain_of(&text, "CLUSTERD-SVC-");
    assert_eq!(
        rules_of(&text, "CLUSTERD-SERVICES")[..2],
        [
            "-A CLUSTERD-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment \"default/web:http cluster IP\" -j CLUSTERD-MARK-MASQ".to_owned(),
            format!("-A CLUSTERD-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment \"default/web:http cluster IP\" -j {svc}"),
        ]
    );
    let balancing = rules_of(&text, &svc);
    assert_eq!(
        balancing.len(),
        3,
        "the not-ready endpoint is left out: {balancing:?}"
    );
    assert!(balancing[0]
        .contains("-m statistic --mode random --probability 0.3333333333 -j CLUSTERD-SEP-"));
    assert!(balancing[1]
        .contains("-m statistic --mode random --probability 0.5000000000 -j CLUSTERD-SEP-"));
    assert!(!balancing[2].contains("statistic"));
    assert!(!text.contains("10.244.2.9"));
    // Each endpoint chain masquerades hairpin traffic and DNATs.
    let sep = balancing[0].rsplit(' ').next().unwrap();
    assert_eq!(
        rules_of(&text, sep),
        [
            format!("-A {sep} -s 10.244.1.2/32 -m comment --comment \"default/web:http\" -j CLUSTERD-MARK-MASQ"),
            format!("-A {sep} -p tcp -m comment --comment \"default/web:http\" -m tcp -j DNAT --to-destination 10.244.1.2:8080"),
        ]
    );
    // The last rule of SERVICES hands local destinations to NODEPORTS.
    assert!(rules_of(&text, "CLUSTERD-SERVICES")
        .last()
        .unwrap()
        .ends_with("-j CLUSTERD-NODEPORTS"));
}

#[test]
fn terminating_serving_endpoints_are_used_only_when_none_is_ready() {
    let mut slice = slice("web", &[("10.244.1.2", "node-a", false)]);
    slice.endpoints[0].conditions = Some(
        serde_json::from_value(json!({"ready": false, "serving": true, "terminating": true}))
            .unwrap(),
    );
    let text = render(&[web(json!({}))], &[slice.clone()], &node());
    assert!(text.contains("--to-destination 10.244.1.2:8080"), "{text}");
    let mut ready = slice.clone();
    ready.endpoints.push(
        serde_json::from_value(json!({"addresses": ["10.244.1.3"], "conditions": {"ready": true}}))
            .unwrap(),
    );
    let text = render(&[web(json!({}))], &[ready], &node());
    assert!(!text.contains("10.244.1.2:8080"), "{text}");
    assert!(text.contains("10.244.1.3:8080"), "{text}");
}

#[test]
fn a_service_without_endpoints_is_rejected_not_dnat() {
    let text = render(
        &[web(
            json!({"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}),
        )],
        &[slice("web", &[])],
        &node(),
    );
    assert!(lines(&text).contains(&"-A CLUSTERD-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment \"default/web:http has no endpoints\" -j REJECT"), "{text}");
    assert!(lines(&text).contains(&"-A CLUSTERD-EXTERNAL-SERVICES -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -m comment --comment \"default/web:http has no endpoints\" -j REJECT"), "{text}");
    assert!(!text.contains("CLUSTERD-SVC-"), "{text}");
    assert!(!text.contains("DNAT"), "{text}");
}

#[test]
fn node_port_masquerades_and_goes_to_the_service_chain() {
    let text = render(
        &[web(
            json!({"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}),
        )],
        &[slice("web", &[("10.244.1.2", "node-a", true)])],
        &node(),
    );
    let ext = chain_of(&text, "CLUSTERD-EXT-");
    let svc = chain_of(&text, "CLUSTERD-SVC-");
    assert_eq!(
        rules_of(&text, "CLUSTERD-NODEPORTS"),
        [format!("-A CLUSTERD-NODEPORTS -p tcp -m tcp --dport 30080 -m comment --comment \"default/web:http\" -j {ext}")]
    );
    assert_eq!(
        rules_of(&text, &ext),
        [
            format!("-A {ext} -m comment --comment \"masquerade traffic for default/web:http external destinations\" -j CLUSTERD-MARK-MASQ"),
            format!("-A {ext} -j {svc}"),
        ]
    );
    assert!(lines(&text).contains(&"-A CLUSTERD-SERVICES ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment \"service nodeports; NOTE: this must be the last rule in this chain\" -j CLUSTERD-NODEPORTS"));
}

#[test]
fn load_balancer_ingress_ips_lead_to_the_external_chain() {
    let mut lb = web(
        json!({"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 31000}], "externalIPs": ["192.0.2.7"]}),
    );
    lb.status = Some(
        serde_json::from_value(
            json!({"loadBalancer": {"ingress": [{"ip": "172.18.0.2"}, {"ip": "172.18.0.3"}]}}),
        )
        .unwrap(),
    );
    let text = render(
        &[lb],
        &[slice("web", &[("10.244.1.2", "node-a", true)])],
        &node(),
    );
    let ext = chain_of(&text, "CLUSTERD-EXT-");
    for ip in ["172.18.0.2", "172.18.0.3"] {
        let rule = format!("-A CLUSTERD-SERVICES -d {ip}/32 -p tcp -m tcp --dport 80 -m comment --comment \"default/web:http loadbalancer IP\" -j {ext}");
        assert!(
            lines(&text).contains(&rule.as_str()),
            "missing {rule}\n{text}"
        );
    }
    let external = format!("-A CLUSTERD-SERVICES -d 192.0.2.7/32 -p tcp -m tcp --dport 80 -m comment --comment \"default/web:http external IP\" -j {ext}");
    assert!(lines(&text).contains(&external.as_str()), "{text}");
    assert!(text.contains("--dport 31000"));
}

#[test]
fn load_balancer_status_of_other_types_is_ignored() {
    let mut svc = web(json!({}));
    svc.status = Some(
        serde_json::from_value(json!({"loadBalancer": {"ingress": [{"ip": "172.18.0.2"}]}}))
            .unwrap(),
    );
    let text = render(
        &[svc],
        &[slice("web", &[("10.244.1.2", "node-a", true)])],
        &node(),
    );
    assert!(!text.contains("172.18.0.2"), "{text}");
}

#[test]
fn session_affinity_checks_and_sets_recent_lists() {
    let text = render(
        &[web(
            json!({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}}),
        )],
        &[slice(
            "web",
            &[
                ("10.244.1.2", "node-a", true),
                ("10.244.1.3", "node-a", true),
            ],
        )],
        &node(),
    );
    let svc = chain_of(&text, "CLUSTERD-SVC-");
    let rules = rules_of(&text, &svc);
    assert_eq!(rules.len(), 4, "{rules:?}");
    for rule in &rules[..2] {
        let sep = rule.rsplit(' ').next().unwrap();
        assert!(
            rule.contains(&format!(
                "-m recent --name {sep} --rcheck --seconds 600 --reap -j {sep}"
            )),
            "{rule}"
        );
        let dnat = rules_of(&text, sep)[1];
        assert!(
            dnat.contains(&format!("-m recent --name {sep} --set -m tcp -j DNAT")),
            "{dnat}"
        );
    }
    // Without a timeout: upstream's 3 hours.
    let text = render(
        &[web(json!({"sessionAffinity": "ClientIP"}))],
        &[slice("web", &[("10.244.1.2", "node-a", true)])],
        &node(),
    );
    assert!(text.contains("--rcheck --seconds 10800 --reap"), "{text}");
}

#[test]
fn external_traffic_policy_local_uses_local_endpoints_without_snat() {
    let svc = web(json!({"type": "NodePort", "externalTrafficPolicy": "Local",
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}));
    let slices = [slice(
        "web",
        &[
            ("10.244.1.2", "node-a", true),
            ("10.244.2.2", "node-b", true),
        ],
    )];
    let text = render(std::slice::from_ref(&svc), &slices, &node());
    let ext = chain_of(&text, "CLUSTERD-EXT-");
    let svl = chain_of(&text, "CLUSTERD-SVL-");
    let svc_chain = chain_of(&text, "CLUSTERD-SVC-");
    let rules = rules_of(&text, &ext);
    assert_eq!(rules.len(), 4, "{rules:?}");
    assert!(
        rules[0].starts_with(&format!("-A {ext} -s 10.244.0.0/16 "))
            && rules[0].ends_with(&format!("-j {svc_chain}"))
    );
    assert!(rules[1].contains("--src-type LOCAL") && rules[1].ends_with("-j CLUSTERD-MARK-MASQ"));
    assert_eq!(rules[3], format!("-A {ext} -j {svl}"));
    // The local chain knows only the local endpoint.
    let local = rules_of(&text, &svl);
    assert_eq!(local.len(), 1);
    assert!(local[0].contains("10.244.1.2:8080"));
    // On a node without local endpoints: external traffic is dropped, pods still get through.
    let other = NodeContext {
        node_name: "node-c".into(),
        ..node()
    };
    let text = render(&[svc], &slices, &other);
    assert!(!text.contains("CLUSTERD-SVL-"), "{text}");
    assert!(lines(&text).contains(&"-A CLUSTERD-EXTERNAL-SERVICES -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -m comment --comment \"default/web:http has no local endpoints\" -j DROP"), "{text}");
    assert_eq!(rules_of(&text, &chain_of(&text, "CLUSTERD-EXT-")).len(), 3);
}

#[test]
fn internal_traffic_policy_local_keeps_cluster_ip_traffic_on_the_node() {
    let svc = web(json!({"internalTrafficPolicy": "Local"}));
    let slices = [slice(
        "web",
        &[
            ("10.244.1.2", "node-a", true),
            ("10.244.2.2", "node-b", true),
        ],
    )];
    let text = render(std::slice::from_ref(&svc), &slices, &node());
    let svl = chain_of(&text, "CLUSTERD-SVL-");
    assert!(
        rules_of(&text, "CLUSTERD-SERVICES")[1].ends_with(&format!("-j {svl}")),
        "{text}"
    );
    let other = NodeContext {
        node_name: "node-c".into(),
        ..node()
    };
    let text = render(&[svc], &slices, &other);
    assert!(
        text.contains("\"default/web:http has no local endpoints\" -j DROP"),
        "{text}"
    );
}

#[test]
fn node_local_and_external_name_services_are_ignored() {
    let mut dns = service(
        "kube-dns",
        json!({"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}),
    );
    dns.metadata.annotations =
        Some([("clusterd.io/node-local".to_owned(), "true".to_owned())].into());
    let external = service(
        "ext",
        json!({"type": "ExternalName", "externalName": "example.com"}),
    );
    let text = render(&[dns, external], &[], &node());
    assert!(!text.contains("10.96.0.10"), "{text}");
    assert!(
        !text.contains("kube-dns") && !text.contains("ext"),
        "{text}"
    );
}

#[test]
fn headless_services_get_no_rules_and_udp_ports_use_udp_matches() {
    let headless = service(
        "db",
        json!({"clusterIP": "None", "ports": [{"port": 5432}]}),
    );
    let udp = service(
        "dns",
        json!({"clusterIP": "10.96.0.53", "ports": [{"port": 53, "protocol": "UDP"}]}),
    );
    let udp_slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "dns-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "dns"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.9"]}],
        "ports": [{"port": 5353, "protocol": "UDP"}]}))
    .unwrap();
    let text = render(&[headless, udp], &[udp_slice], &node());
    assert!(!text.contains("5432"), "{text}");
    assert!(text.contains("-d 10.96.0.53/32 -p udp -m udp --dport 53 -m comment --comment \"default/dns cluster IP\""), "{text}");
    assert!(text.contains("-p udp -m comment --comment \"default/dns\" -m udp -j DNAT --to-destination 10.244.1.9:5353"), "{text}");
}

#[test]
fn stale_chains_are_flushed_then_deleted_after_the_rules() {
    let set = Ruleset::build(&[], &node());
    let text = set.restore_text(&["CLUSTERD-SVC-OLD".into()], &[]);
    let nat = text.split("*nat\n").nth(1).unwrap();
    let declare = nat.find(":CLUSTERD-SVC-OLD - [0:0]").unwrap();
    let delete = nat.find("-X CLUSTERD-SVC-OLD").unwrap();
    let last_rule = nat.rfind("-A ").unwrap();
    assert!(declare < last_rule && last_rule < delete, "{text}");
}

#[test]
fn output_is_stable_whatever_the_input_order() {
    let a = web(json!({}));
    let b = service(
        "api",
        json!({"clusterIP": "10.96.0.30", "ports": [{"port": 443, "targetPort": 8443}]}),
    );
    let slices = [
        slice(
            "web",
            &[
                ("10.244.1.3", "node-a", true),
                ("10.244.1.2", "node-a", true),
            ],
        ),
        slice("web", &[("10.244.1.2", "node-a", true)]),
    ];
    let one = render(&[a.clone(), b.clone()], &slices, &node());
    let two = render(&[b, a], &[slices[1].clone(), slices[0].clone()], &node());
    assert_eq!(one, two);
    assert_eq!(
        one.matches("--to-destination 10.244.1.2:8080").count(),
        1,
        "duplicates merged"
    );
}

#[test]
fn odd_names_cannot_break_the_restore_syntax() {
    let svc = service(
        "web",
        json!({"clusterIP": "10.96.0.20", "ports": [{"name": "a\" -j ACCEPT", "port": 80}]}),
    );
    let text = render(&[svc], &[], &node());
    assert!(
        text.contains("--comment \"default/web:a__-j_ACCEPT has no endpoints\""),
        "{text}"
    );
}
