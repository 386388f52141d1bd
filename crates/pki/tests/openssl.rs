//! The real openssl binary accepts the generated chain, shows the expected names, and computes the
//! same CA pin as the crate.

mod support;

use clusterctl_pki::ca_pin;
use std::{
    path::Path,
    process::{Command, Stdio},
};
use support::{fresh_pki, tool};

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn openssl_verifies_every_leaf_against_the_ca() {
    if tool("openssl").is_none() {
        return;
    }
    let (_dir, pki) = fresh_pki();
    pki.issue_node_client("worker-1").expect("node client");
    pki.issue_node_serving("worker-1", &["10.0.0.11".parse().unwrap()])
        .expect("node serving");
    let p = pki.paths();
    let node = p.node_client_cert("worker-1").unwrap();
    let serving = p.node_serving_cert("worker-1").unwrap();

    let ca = p.ca_cert();
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        s(&ca),
        s(&p.apiserver_cert()),
        s(&p.admin_cert()),
        s(&node),
        s(&serving),
    ]);
    assert!(ok, "{out}");
    assert_eq!(out.matches(": OK").count(), 4, "{out}");

    // Purpose checks: serving certs for TLS servers, client certs for TLS clients.
    for (purpose, cert) in [
        ("sslserver", p.apiserver_cert()),
        ("sslserver", serving.clone()),
        ("sslclient", p.admin_cert()),
        ("sslclient", node.clone()),
    ] {
        let (ok, out) = openssl(&["verify", "-purpose", purpose, "-CAfile", s(&ca), s(&cert)]);
        assert!(ok, "{purpose} {}: {out}", cert.display());
    }
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        s(&ca),
        s(&p.admin_cert()),
    ]);
    assert!(!ok, "admin cert passed as a server cert: {out}");

    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        s(&p.front_proxy_ca_cert()),
        s(&p.front_proxy_client_cert()),
    ]);
    assert!(ok, "{out}");
    let (ok, _) = openssl(&["verify", "-CAfile", s(&ca), s(&p.front_proxy_client_cert())]);
    assert!(!ok, "front-proxy client must not chain to the cluster ca");
}

#[test]
fn openssl_shows_sans_subjects_and_ca_flags() {
    if tool("openssl").is_none() {
        return;
    }
    let (_dir, pki) = fresh_pki();
    pki.issue_node_client("worker-1").expect("node client");
    let p = pki.paths();
    let text = |path: &Path| openssl(&["x509", "-noout", "-text", "-in", s(path)]).1;

    let api = text(&p.apiserver_cert());
    for want in [
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:10.96.0.1",
        "TLS Web Server Authentication",
        "CA:FALSE",
        "ASN1 OID: prime256v1",
    ] {
        assert!(
            api.contains(want),
            "{want} missing from apiserver.crt:\n{api}"
        );
    }

    let admin = text(&p.admin_cert());
    assert!(
        admin.contains("Subject: O = system:masters, CN = kubernetes-admin"),
        "{admin}"
    );
    assert!(admin.contains("TLS Web Client Authentication"), "{admin}");

    let node = text(&p.node_client_cert("worker-1").unwrap());
    assert!(
        node.contains("Subject: O = system:nodes, CN = system:node:worker-1"),
        "{node}"
    );

    let ca = text(&p.ca_cert());
    assert!(ca.contains("CA:TRUE"), "{ca}");
    assert!(ca.contains("Certificate Sign"), "{ca}");
    assert!(ca.contains("Subject: CN = demo-ca"), "{ca}");
    let (ok, dates) = openssl(&[
        "x509",
        "-noout",
        "-checkend",
        &(9 * 365 * 24 * 3600).to_string(),
        "-in",
        s(&p.ca_cert()),
    ]);
    assert!(ok, "ca should outlive 9 years: {dates}");
    let (ok, dates) = openssl(&[
        "x509",
        "-noout",
        "-checkend",
        &(366 * 24 * 3600).to_string(),
        "-in",
        s(&p.apiserver_cert()),
    ]);
    assert!(
        !ok,
        "apiserver cert should expire within about a year: {dates}"
    );
}

#[test]
fn ca_pin_equals_the_openssl_pipeline_hash() {
    if tool("openssl").is_none() || tool("sha256sum").is_none() {
        return;
    }
    let (_dir, pki) = fresh_pki();
    let pipeline = format!(
        "openssl x509 -pubkey -noout -in '{}' | openssl pkey -pubin -outform der | sha256sum",
        s(&pki.paths().ca_cert())
    );
    let out = Command::new("sh")
        .args(["-c", &pipeline])
        .stderr(Stdio::inherit())
        .output()
        .expect("run pipeline");
    assert!(out.status.success());
    let hex = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_owned();
    assert_eq!(pki.ca_pin(), format!("sha256:{hex}"));
    assert_eq!(ca_pin(pki.ca_cert_pem()).unwrap(), format!("sha256:{hex}"));
}

#[test]
fn keys_match_their_certificates_per_openssl() {
    if tool("openssl").is_none() {
        return;
    }
    let (_dir, pki) = fresh_pki();
    let p = pki.paths();
    for (cert, key) in [
        (p.apiserver_cert(), p.apiserver_key()),
        (p.admin_cert(), p.admin_key()),
        (p.ca_cert(), p.ca_key()),
    ] {
        let (ok1, from_cert) = openssl(&["x509", "-pubkey", "-noout", "-in", s(&cert)]);
        let (ok2, from_key) = openssl(&["pkey", "-pubout", "-in", s(&key)]);
        assert!(ok1 && ok2);
        assert_eq!(
            from_cert,
            from_key,
            "{} does not belong to {}",
            key.display(),
            cert.display()
        );
    }
    let (ok, sa_pub) = openssl(&["pkey", "-pubout", "-in", s(&p.sa_key())]);
    assert!(ok);
    assert_eq!(sa_pub, pki.service_account().public_key_pem());
    let (ok, check) = openssl(&["ec", "-check", "-noout", "-in", s(&p.sa_key())]);
    assert!(ok, "sa.key is not a valid EC key: {check}");
}

#[test]
fn openssl_accepts_etcd_members_both_ways_and_the_client_only_as_a_client() {
    if tool("openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etcd = clusterctl_pki::EtcdPki::generate("dev").unwrap();
    let member = etcd
        .issue_member(
            "dev-server-0",
            &[clusterctl_pki::San::parse("172.18.0.2").unwrap()],
        )
        .unwrap();
    let client = etcd
        .issue_client(std::time::Duration::from_secs(3600))
        .unwrap();
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let ca = write("ca.crt", etcd.ca_cert_pem());
    let member = write("member.crt", member.cert_pem());
    let client = write("client.crt", client.cert_pem());
    for purpose in ["sslserver", "sslclient"] {
        let (ok, out) = openssl(&["verify", "-purpose", purpose, "-CAfile", s(&ca), s(&member)]);
        assert!(ok, "member as {purpose}: {out}");
    }
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        s(&ca),
        s(&client),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        s(&ca),
        s(&client),
    ]);
    assert!(
        !ok,
        "the etcd client certificate passed as a server's: {out}"
    );
    let (_dir, cluster) = fresh_pki();
    let (ok, _) = openssl(&[
        "verify",
        "-CAfile",
        s(&cluster.paths().ca_cert()),
        s(&member),
    ]);
    assert!(!ok, "etcd certificates must not chain to the cluster CA");
}
