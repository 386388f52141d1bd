use serde_json::json;

use super::*;

fn service(value: serde_json::Value) -> Service {
    serde_json::from_value(value).unwrap()
}

fn slice(value: serde_json::Value) -> EndpointSlice {
    serde_json::from_value(value).unwrap()
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn zone() -> Zone {
    let web = service(json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 81}]}}));
    let db = service(json!({"metadata": {"name": "db", "namespace": "data"},
        "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}}));
    let ext = service(json!({"metadata": {"name": "ext", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "example.org"}}));
    let alias = service(
        json!({"metadata": {"name": "alias", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "web.default.svc.cluster.local"}}),
    );
    let db_slice = slice(json!({"metadata": {"name": "db-abc", "namespace": "data",
            "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.244.1.5"], "hostname": "db-0", "conditions": {"ready": true}},
            {"addresses": ["10.244.2.6"], "conditions": {"ready": true}},
            {"addresses": ["10.244.2.7"], "hostname": "db-2", "conditions": {"ready": false}}
        ],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}));
    Zone::build("cluster.local", &[&web, &db, &ext, &alias], &[&db_slice], 7).unwrap()
}

fn rdata(answer: &Answer) -> Vec<String> {
    answer
        .answers
        .iter()
        .map(|r| format!("{} {}", r.name(), r.data()))
        .collect()
}

#[test]
fn a_cluster_ip_service_answers_its_address() {
    let answer = zone().lookup(&name("web.default.svc.cluster.local."), RecordType::A);
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert_eq!(
        rdata(&answer),
        vec!["web.default.svc.cluster.local. 10.96.0.20"]
    );
    assert_eq!(answer.answers[0].ttl(), TTL);
}

#[test]
fn names_are_case_insensitive() {
    let answer = zone().lookup(&name("WEB.Default.SVC.cluster.local."), RecordType::A);
    assert_eq!(answer.answers.len(), 1);
}

#[test]
fn an_existing_name_without_the_type_is_noerror_with_soa() {
    let answer = zone().lookup(&name("web.default.svc.cluster.local."), RecordType::AAAA);
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert!(answer.answers.is_empty());
    assert_eq!(answer.authority[0].record_type(), RecordType::SOA);
    // Empty non-terminals exist too.
    let ent = zone().lookup(&name("default.svc.cluster.local."), RecordType::A);
    assert_eq!(ent.rcode, ResponseCode::NoError);
}

#[test]
fn a_missing_name_is_nxdomain_with_soa() {
    let answer = zone().lookup(&name("nope.default.svc.cluster.local."), RecordType::A);
    assert_eq!(answer.rcode, ResponseCode::NXDomain);
    assert_eq!(answer.authority.len(), 1);
    match answer.authority[0].data() {
        RData::SOA(soa) => {
            assert_eq!(soa.serial(), 7);
            assert_eq!(soa.minimum(), TTL);
        }
        other => panic!("expected SOA, got {other:?}"),
    }
}

#[test]
fn named_ports_get_srv_records_pointing_at_the_service() {
    let answer = zone().lookup(
        &name("_http._tcp.web.default.svc.cluster.local."),
        RecordType::SRV,
    );
    assert_eq!(
        rdata(&answer),
        vec!["_http._tcp.web.default.svc.cluster.local. 0 100 80 web.default.svc.cluster.local."]
    );
    assert_eq!(answer.additionals.len(), 1);
}

#[test]
fn a_headless_service_answers_ready_endpoints_and_hostnames() {
    let z = zone();
    let answer = z.lookup(&name("db.data.svc.cluster.local."), RecordType::A);
    let mut ips = rdata(&answer);
    ips.sort();
    assert_eq!(
        ips,
        vec![
            "db.data.svc.cluster.local. 10.244.1.5",
            "db.data.svc.cluster.local. 10.244.2.6"
        ]
    );
    let host = z.lookup(&name("db-0.db.data.svc.cluster.local."), RecordType::A);
    assert_eq!(
        rdata(&host),
        vec!["db-0.db.data.svc.cluster.local. 10.244.1.5"]
    );
    let dashed = z.lookup(
        &name("10-244-2-6.db.data.svc.cluster.local."),
        RecordType::A,
    );
    assert_eq!(dashed.answers.len(), 1);
    let not_ready = z.lookup(&name("db-2.db.data.svc.cluster.local."), RecordType::A);
    assert_eq!(not_ready.rcode, ResponseCode::NXDomain);
    let srv = z.lookup(
        &name("_pg._tcp.db.data.svc.cluster.local."),
        RecordType::SRV,
    );
    assert_eq!(srv.answers.len(), 2);
    assert_eq!(srv.additionals.len(), 2);
}

#[test]
fn external_name_is_a_cname_followed_inside_the_zone() {
    let z = zone();
    let ext = z.lookup(&name("ext.default.svc.cluster.local."), RecordType::A);
    assert_eq!(
        rdata(&ext),
        vec!["ext.default.svc.cluster.local. example.org."]
    );
    assert_eq!(ext.external_target, Some(name("example.org.")));
    assert!(ext.authority.is_empty());
    let alias = z.lookup(&name("alias.default.svc.cluster.local."), RecordType::A);
    assert_eq!(
        rdata(&alias),
        vec![
            "alias.default.svc.cluster.local. web.default.svc.cluster.local.",
            "web.default.svc.cluster.local. 10.96.0.20"
        ]
    );
    assert_eq!(alias.external_target, None);
}

#[test]
fn service_and_headless_endpoint_addresses_have_ptr_records() {
    let z = zone();
    let svc = reverse_name("10.96.0.20".parse().unwrap());
    assert!(z.is_authoritative_for(&svc));
    assert_eq!(
        rdata(&z.lookup(&svc, RecordType::PTR)),
        vec!["20.0.96.10.in-addr.arpa. web.default.svc.cluster.local."]
    );
    let pod = reverse_name("10.244.1.5".parse().unwrap());
    assert_eq!(
        rdata(&z.lookup(&pod, RecordType::PTR)),
        vec!["5.1.244.10.in-addr.arpa. db-0.db.data.svc.cluster.local."]
    );
    assert!(!z.is_authoritative_for(&reverse_name("8.8.8.8".parse().unwrap())));
    assert!(!z.is_authoritative_for(&name("example.org.")));
}

#[test]
fn pod_names_are_computed_from_the_address() {
    let z = zone();
    let answer = z.lookup(
        &name("10-244-3-4.default.pod.cluster.local."),
        RecordType::A,
    );
    assert_eq!(
        rdata(&answer),
        vec!["10-244-3-4.default.pod.cluster.local. 10.244.3.4"]
    );
    let bad = z.lookup(&name("not-an-ip.default.pod.cluster.local."), RecordType::A);
    assert_eq!(bad.rcode, ResponseCode::NXDomain);
}

#[test]
fn the_apex_answers_soa() {
    let answer = zone().lookup(&name("cluster.local."), RecordType::SOA);
    assert_eq!(answer.answers[0].record_type(), RecordType::SOA);
}
