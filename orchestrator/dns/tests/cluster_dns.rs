//! The cluster DNS against a real in-process API server: Services and EndpointSlices created
//! through kube-rs are answered over UDP and TCP, followed as they change, and every other name
//! goes to the (fake, loopback) upstream.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::{kube_client, TestServer};

/// How fast a change must show up in answers.
const FOLLOW: Duration = Duration::from_secs(1);

async fn create_service(
    client: &kube::Client,
    namespace: &str,
    value: serde_json::Value,
) -> Service {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(value).unwrap(),
    )
    .await
    .expect("create service")
}

async fn create_slice(client: &kube::Client, namespace: &str, value: serde_json::Value) {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(value).unwrap(),
    )
    .await
    .expect("create endpointslice");
}

fn v4(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_endpoints_and_external_names_are_answered_and_followed() {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let upstream = fake_upstream().await;
    let web = create_service(&client, "default", json!({"metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})).await;
    let web_ip = v4(web.spec.as_ref().unwrap().cluster_ip.as_deref().unwrap());
    create_service(
        &client,
        "default",
        json!({"metadata": {"name": "db"},
        "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}}),
    )
    .await;
    create_slice(
        &client,
        "default",
        json!({"metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.244.1.5"], "hostname": "db-0", "conditions": {"ready": true}},
            {"addresses": ["10.244.2.6"], "hostname": "db-1", "conditions": {"ready": true}},
            {"addresses": ["10.244.2.9"], "hostname": "db-2", "conditions": {"ready": false}}
        ],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}),
    )
    .await;
    create_service(
        &client,
        "default",
        json!({"metadata": {"name": "ext"},
        "spec": {"type": "ExternalName", "externalName": "example.test"}}),
    )
    .await;

    let listen = free_addr();
    let _stop = start_dns(client.clone(), config(listen, vec![upstream]));
    wait_listening(listen).await;

    // A ClusterIP Service: its ClusterIP, over UDP and TCP, TTL 5.
    let (answer, _) = wait_answer(
        listen,
        "web.default.svc.cluster.local.",
        RecordType::A,
        Duration::from_secs(10),
        |m| !m.answers().is_empty(),
    )
    .await;
    assert_eq!(addresses(&answer), vec![web_ip]);
    assert_eq!(answer.answers()[0].ttl(), 5);
    assert!(answer.authoritative());
    let tcp = ask_tcp(listen, "web.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(addresses(&tcp), vec![web_ip]);

    // The seeded kube-dns Service has the cluster DNS address.
    let dns = ask(
        listen,
        "kube-dns.kube-system.svc.cluster.local.",
        RecordType::A,
    )
    .await;
    assert_eq!(addresses(&dns), vec![v4("10.96.0.10")]);

    // And the seeded `kubernetes` Service, the first address of the range.
    let api = ask(
        listen,
        "kubernetes.default.svc.cluster.local.",
        RecordType::A,
    )
    .await;
    assert_eq!(addresses(&api), vec![v4("10.96.0.1")]);

    // SRV for a named port.
    let srv = ask(
        listen,
        "_http._tcp.web.default.svc.cluster.local.",
        RecordType::SRV,
    )
    .await;
    match srv.answers()[0].data() {
        RData::SRV(s) => {
            assert_eq!(s.port(), 80);
            assert_eq!(s.target().to_ascii(), "web.default.svc.cluster.local.");
        }
        other => panic!("expected SRV, got {other:?}"),
    }

    // Existing name, other type: NOERROR, no answers, SOA in authority.
    let aaaa = ask(listen, "web.default.svc.cluster.local.", RecordType::AAAA).await;
    assert_eq!(aaaa.response_code(), ResponseCode::NoError);
    assert!(aaaa.answers().is_empty());
    assert_eq!(aaaa.name_servers()[0].record_type(), RecordType::SOA);

    // Missing name under the zone: NXDOMAIN with SOA.
    let nx = ask(listen, "nope.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(nx.response_code(), ResponseCode::NXDomain);
    assert_eq!(nx.name_servers()[0].record_type(), RecordType::SOA);

    // Headless: ready endpoints only, and per-hostname names; SRV per endpoint.
    let headless = ask(listen, "db.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(
        addresses(&headless),
        vec![v4("10.244.1.5"), v4("10.244.2.6")]
    );
    let db0 = ask(listen, "db-0.db.default.svc.cluster.local.", RecordType::A).await;
    assert_eq!(addresses(&db0), vec![v4("10.244.1.5")]);
    let db_srv = ask(
        listen,
        "_pg._tcp.db.default.svc.cluster.local.",
        RecordType::SRV,
    )
    .await;
    assert_eq!(db_srv.answers().len(), 2);

    // PTR of the ClusterIP and of a headless endpoint.
    let IpAddr::V4(web_v4) = web_ip else {
        panic!("v4 cluster ip")
    };
    let o = web_v4.octets();
    let ptr = ask(
        listen,
        &format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0]),
        RecordType::PTR,
    )
    .await;
    assert!(
        matches!(ptr.answers()[0].data(), RData::PTR(p) if p.0.to_ascii() == "web.default.svc.cluster.local.")
    );
    let pod_ptr = ask(listen, "5.1.244.10.in-addr.arpa.", RecordType::PTR).await;
    assert!(
        matches!(pod_ptr.answers()[0].data(), RData::PTR(p) if p.0.to_ascii() == "db-0.db.default.svc.cluster.local.")
    );

    // Pod names are computed.
    let pod = ask(
        listen,
        "10-244-3-4.default.pod.cluster.local.",
        RecordType::A,
    )
    .await;
    assert_eq!(addresses(&pod), vec![v4("10.244.3.4")]);

    // ExternalName: the CNAME, then the target's address from upstream.
    let ext = ask(listen, "ext.default.svc.cluster.local.", RecordType::A).await;
    assert!(
        matches!(ext.answers()[0].data(), RData::CNAME(c) if c.0.to_ascii() == "example.test.")
    );
    assert_eq!(addresses(&ext), vec![IpAddr::V4(UPSTREAM_ANSWER)]);

    // A Service created now is answerable within a second; its deletion too.
    let late = create_service(
        &client,
        "default",
        json!({"metadata": {"name": "late"},
        "spec": {"selector": {"app": "late"}, "ports": [{"port": 8080}]}}),
    )
    .await;
    let late_ip = v4(late.spec.as_ref().unwrap().cluster_ip.as_deref().unwrap());
    let (answer, took) = wait_answer(
        listen,
        "late.default.svc.cluster.local.",
        RecordType::A,
        Duration::from_secs(5),
        |m| !m.answers().is_empty(),
    )
    .await;
    assert_eq!(addresses(&answer), vec![late_ip]);
    assert!(took < FOLLOW, "a new service took {took:?} to be answered");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    services
        .delete("late", &DeleteParams::default())
        .await
        .expect("delete late");
    let (_, took) = wait_answer(
        listen,
        "late.default.svc.cluster.local.",
        RecordType::A,
        Duration::from_secs(5),
        |m| m.response_code() == ResponseCode::NXDomain,
    )
    .await;
    assert!(
        took < FOLLOW,
        "a deleted service took {took:?} to disappear"
    );

    // Endpoints changing are followed too: a new ready endpoint joins the headless answer.
    create_slice(
        &client,
        "default",
        json!({"metadata": {"name": "db-2", "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.3.3"], "hostname": "db-3"}],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}),
    )
    .await;
    let (answer, took) = wait_answer(
        listen,
        "db.default.svc.cluster.local.",
        RecordType::A,
        Duration::from_secs(5),
        |m| m.answers().len() == 3,
    )
    .await;
    assert!(addresses(&answer).contains(&v4("10.244.3.3")));
    assert!(took < FOLLOW, "a new endpoint took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_names_are_forwarded_and_servfail_without_an_upstream() {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let upstream = fake_upstream().await;
    let listen = free_addr();
    let _stop = start_dns(client.clone(), config(listen, vec![upstream]));
    wait_listening(listen).await;
    let answer = ask(listen, "www.example.test.", RecordType::A).await;
    assert_eq!(answer.response_code(), ResponseCode::NoError);
    assert_eq!(addresses(&answer), vec![IpAddr::V4(UPSTREAM_ANSWER)]);
    assert!(answer.recursion_available());
    assert!(!answer.authoritative());
    let missing = ask(listen, "missing.test.", RecordType::A).await;
    assert_eq!(missing.response_code(), ResponseCode::NXDomain);
    let over_tcp = ask_tcp(listen, "www.example.test.", RecordType::A).await;
    assert_eq!(addresses(&over_tcp), vec![IpAddr::V4(UPSTREAM_ANSWER)]);

    // The first upstream never answers: the second one does.
    let (silent, _hold) = silent_upstream().await;
    let listen2 = free_addr();
    let _stop2 = start_dns(client.clone(), config(listen2, vec![silent, upstream]));
    wait_listening(listen2).await;
    let answer = ask(listen2, "www.example.test.", RecordType::A).await;
    assert_eq!(addresses(&answer), vec![IpAddr::V4(UPSTREAM_ANSWER)]);

    // Only a silent upstream: SERVFAIL (after its timeout), not silence.
    let listen3 = free_addr();
    let _stop3 = start_dns(client.clone(), config(listen3, vec![silent]));
    wait_listening(listen3).await;
    let answer = ask(listen3, "www.example.test.", RecordType::A).await;
    assert_eq!(answer.response_code(), ResponseCode::ServFail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    create_service(
        &client,
        "default",
        json!({"metadata": {"name": "many"},
        "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}),
    )
    .await;
    let endpoints: Vec<serde_json::Value> = (1..=60)
        .map(|i| json!({"addresses": [Ipv4Addr::new(10, 244, 9, i).to_string()]}))
        .collect();
    create_slice(
        &client,
        "default",
        json!({"metadata": {"name": "many-1", "labels": {"kubernetes.io/service-name": "many"}},
        "addressType": "IPv4", "endpoints": endpoints, "ports": [{"port": 80, "protocol": "TCP"}]}),
    )
    .await;
    let listen = free_addr();
    let _stop = start_dns(client.clone(), config(listen, vec![]));
    wait_listening(listen).await;
    let name = "many.default.svc.cluster.local.";
    wait_answer(listen, name, RecordType::A, Duration::from_secs(10), |m| {
        m.truncated() || m.answers().len() == 60
    })
    .await;

    // Classic UDP: at most 512 bytes, TC set, some answers.
    let (udp, size) = ask_udp(listen, name, RecordType::A, false)
        .await
        .expect("udp answer");
    assert!(size <= 512, "UDP answer of {size} bytes");
    assert!(udp.truncated());
    // As many answers as fit (about 16 bytes each after the header and question).
    assert!(
        (20..60).contains(&udp.answers().len()),
        "{} answers",
        udp.answers().len()
    );
    // EDNS 4096: everything fits.
    let (edns, size) = ask_udp(listen, name, RecordType::A, true)
        .await
        .expect("edns answer");
    assert!(!edns.truncated());
    assert_eq!(edns.answers().len(), 60, "{size} bytes");
    // TCP: everything.
    let tcp = ask_tcp(listen, name, RecordType::A).await;
    assert!(!tcp.truncated());
    assert_eq!(tcp.answers().len(), 60);
}
