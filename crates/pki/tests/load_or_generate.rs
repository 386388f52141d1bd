//! Idempotent load-or-generate as a user sees it on disk.

mod support;

use clusterctl_pki::{CertInfo, ChangeKind, ClusterPki, PkiPaths, PkiSpec, RenewReason, San};
use std::{fs, os::unix::fs::PermissionsExt, path::Path, time::Duration};
use support::snapshot;

fn setup() -> (tempfile::TempDir, PkiPaths) {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = PkiPaths::new(dir.path().join("pki"));
    (dir, paths)
}

fn generate(paths: &PkiPaths, spec: &PkiSpec) -> ClusterPki {
    ClusterPki::load_or_generate(paths.clone(), spec).expect("load_or_generate")
}

fn names(pki: &ClusterPki) -> Vec<String> {
    pki.changes().iter().map(|c| c.name.clone()).collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn first_run_creates_the_whole_set() {
    let (_dir, paths) = setup();
    let pki = generate(&paths, &PkiSpec::new("demo"));
    assert_eq!(
        names(&pki),
        [
            "ca",
            "front-proxy-ca",
            "apiserver",
            "admin",
            "front-proxy-client",
            "sa"
        ]
    );
    for file in [
        paths.ca_cert(),
        paths.ca_key(),
        paths.apiserver_cert(),
        paths.apiserver_key(),
        paths.admin_cert(),
        paths.admin_key(),
        paths.sa_key(),
        paths.sa_pub(),
        paths.front_proxy_ca_cert(),
        paths.front_proxy_ca_key(),
        paths.front_proxy_client_cert(),
        paths.front_proxy_client_key(),
    ] {
        assert!(file.is_file(), "{} missing", file.display());
    }
    assert_eq!(
        fs::read_to_string(paths.ca_cert()).unwrap(),
        pki.ca_cert_pem()
    );
}

#[test]
fn second_run_leaves_every_file_byte_for_byte() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    let first = generate(&paths, &spec);
    let before = snapshot(paths.dir());
    let second = generate(&paths, &spec);
    assert!(second.changes().is_empty(), "{:?}", second.changes());
    assert_eq!(snapshot(paths.dir()), before);
    assert_eq!(second.admin(), first.admin());
    assert_eq!(second.ca_pin(), first.ca_pin());
}

#[test]
fn deleting_one_leaf_regenerates_only_that_leaf() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    let before = snapshot(paths.dir());
    fs::remove_file(paths.admin_cert()).unwrap();

    let pki = generate(&paths, &spec);
    assert_eq!(names(&pki), ["admin"]);
    assert_eq!(pki.changes()[0].kind, ChangeKind::Created);
    let after = snapshot(paths.dir());
    let changed: Vec<_> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(changed, ["admin.crt", "admin.key"]);
    let info = pki.admin().info().unwrap();
    assert_eq!(info.subject_cn, "kubernetes-admin");
}

#[test]
fn a_leaf_whose_key_is_missing_is_reissued() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    fs::remove_file(paths.apiserver_key()).unwrap();
    let pki = generate(&paths, &spec);
    assert_eq!(names(&pki), ["apiserver"]);
    assert_eq!(
        pki.changes()[0].kind,
        ChangeKind::Reissued(RenewReason::KeyMissing)
    );
    assert!(paths.apiserver_key().is_file());
}

#[test]
fn near_expiry_leaf_is_reissued_with_a_full_lifetime() {
    let (_dir, paths) = setup();
    let mut short = PkiSpec::new("demo");
    short.cert_validity = Duration::from_secs(10 * 24 * 3600);
    let first = generate(&paths, &short);
    let ca_before = fs::read(paths.ca_cert()).unwrap();

    let pki = generate(&paths, &PkiSpec::new("demo"));
    assert_eq!(names(&pki), ["apiserver", "admin", "front-proxy-client"]);
    for change in pki.changes() {
        assert!(
            matches!(
                change.kind,
                ChangeKind::Reissued(RenewReason::Expiring { .. })
            ),
            "{change}"
        );
    }
    let old = first.apiserver().info().unwrap().not_after;
    let new = pki.apiserver().info().unwrap().not_after;
    assert!(
        new - old > time::Duration::days(300),
        "old {old}, new {new}"
    );
    assert_eq!(
        fs::read(paths.ca_cert()).unwrap(),
        ca_before,
        "the ca must not change"
    );
}

#[test]
fn renewal_window_is_configurable() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    let mut eager = spec.clone();
    eager.renew_before = Duration::from_secs(400 * 24 * 3600);
    let pki = generate(&paths, &eager);
    assert_eq!(names(&pki), ["apiserver", "admin", "front-proxy-client"]);
}

#[test]
fn new_san_reissues_only_the_api_server_cert_with_it() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    let admin_before = fs::read(paths.admin_cert()).unwrap();

    let lb = San::parse("api.demo.example.com").unwrap();
    let ip = San::parse("198.51.100.20").unwrap();
    let wider = spec.clone().with_sans([lb.clone(), ip.clone()]);
    let pki = generate(&paths, &wider);
    assert_eq!(names(&pki), ["apiserver"]);
    assert_eq!(
        pki.changes()[0].kind,
        ChangeKind::Reissued(RenewReason::SansMissing(vec![lb.clone(), ip.clone()]))
    );
    let on_disk = CertInfo::from_pem(&fs::read_to_string(paths.apiserver_cert()).unwrap()).unwrap();
    assert!(
        on_disk.sans.contains(&lb) && on_disk.sans.contains(&ip),
        "{:?}",
        on_disk.sans
    );
    assert!(on_disk.sans.contains(&San::parse("10.96.0.1").unwrap()));
    assert_eq!(fs::read(paths.admin_cert()).unwrap(), admin_before);

    // Going back to fewer SANs keeps the wider certificate: it still covers everything asked.
    assert!(generate(&paths, &spec).changes().is_empty());
}

#[test]
fn missing_ca_key_is_an_error_naming_the_path() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    let before = snapshot(paths.dir());
    fs::remove_file(paths.ca_key()).unwrap();

    let err = ClusterPki::load_or_generate(paths.clone(), &spec).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&paths.ca_key().display().to_string()), "{msg}");
    assert!(msg.contains("missing"), "{msg}");
    let mut expected = before;
    expected.remove(&paths.ca_key());
    assert_eq!(
        snapshot(paths.dir()),
        expected,
        "nothing may be written on error"
    );
}

#[test]
fn missing_ca_cert_with_a_key_present_is_an_error_too() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    fs::remove_file(paths.front_proxy_ca_cert()).unwrap();
    let msg = ClusterPki::load_or_generate(paths.clone(), &spec)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&paths.front_proxy_ca_cert().display().to_string()),
        "{msg}"
    );
}

#[test]
fn a_ca_key_that_belongs_to_another_ca_is_rejected() {
    let (_dir, paths) = setup();
    let (_other_dir, other) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    generate(&other, &spec);
    fs::copy(other.ca_key(), paths.ca_key()).unwrap();
    let msg = ClusterPki::load_or_generate(paths.clone(), &spec)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("does not belong"), "{msg}");
    assert!(msg.contains(&paths.ca_key().display().to_string()), "{msg}");
}

#[test]
fn leaf_issued_by_another_ca_is_reissued() {
    let (_dir, paths) = setup();
    let (_other_dir, other) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    generate(&other, &spec);
    fs::copy(other.apiserver_cert(), paths.apiserver_cert()).unwrap();
    fs::copy(other.apiserver_key(), paths.apiserver_key()).unwrap();
    let pki = generate(&paths, &spec);
    assert_eq!(
        pki.changes()[0].kind,
        ChangeKind::Reissued(RenewReason::NotIssuedByCa)
    );
    assert_eq!(names(&pki), ["apiserver"]);
}

#[test]
fn corrupt_leaf_is_reissued() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    fs::write(paths.admin_cert(), "garbage").unwrap();
    let pki = generate(&paths, &spec);
    assert!(matches!(
        pki.changes()[0].kind,
        ChangeKind::Reissued(RenewReason::Unreadable(_))
    ));
    assert_eq!(pki.admin().info().unwrap().orgs, ["system:masters"]);
}

#[test]
fn keys_are_0600_certs_0644_dirs_0700() {
    let (_dir, paths) = setup();
    let pki = generate(&paths, &PkiSpec::new("demo"));
    pki.issue_node_client("worker-1").unwrap();
    pki.issue_node_serving("worker-1", &[]).unwrap();
    for key in [
        paths.ca_key(),
        paths.apiserver_key(),
        paths.admin_key(),
        paths.sa_key(),
        paths.front_proxy_ca_key(),
        paths.front_proxy_client_key(),
        paths.node_client_key("worker-1").unwrap(),
        paths.node_serving_key("worker-1").unwrap(),
    ] {
        assert_eq!(mode(&key), 0o600, "{}", key.display());
    }
    for cert in [
        paths.ca_cert(),
        paths.apiserver_cert(),
        paths.admin_cert(),
        paths.sa_pub(),
        paths.node_client_cert("worker-1").unwrap(),
    ] {
        assert_eq!(mode(&cert), 0o644, "{}", cert.display());
    }
    assert_eq!(mode(paths.dir()), 0o700);
    assert_eq!(mode(&paths.nodes_dir()), 0o700);
}

#[test]
fn plan_reports_changes_and_writes_nothing() {
    let (dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    let planned = ClusterPki::plan(&paths, &spec).unwrap();
    assert_eq!(planned.len(), 6);
    assert!(
        !paths.dir().exists(),
        "plan created {}",
        dir.path().display()
    );

    generate(&paths, &spec);
    assert!(ClusterPki::plan(&paths, &spec).unwrap().is_empty());
    let before = snapshot(paths.dir());
    let wider = spec.with_sans([San::parse("10.0.0.10").unwrap()]);
    let planned = ClusterPki::plan(&paths, &wider).unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(
        planned[0].to_string(),
        format!(
            "reissue apiserver at {} because it does not cover 10.0.0.10",
            paths.apiserver_cert().display()
        )
    );
    assert_eq!(snapshot(paths.dir()), before);
}

#[test]
fn sa_public_key_is_rederived_from_the_private_key() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    let public = fs::read(paths.sa_pub()).unwrap();
    fs::remove_file(paths.sa_pub()).unwrap();
    let pki = generate(&paths, &spec);
    assert_eq!(names(&pki), ["sa.pub"]);
    assert_eq!(fs::read(paths.sa_pub()).unwrap(), public);
}

#[test]
fn sa_public_key_without_its_private_key_is_an_error() {
    let (_dir, paths) = setup();
    let spec = PkiSpec::new("demo");
    generate(&paths, &spec);
    fs::remove_file(paths.sa_key()).unwrap();
    let msg = ClusterPki::load_or_generate(paths.clone(), &spec)
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&paths.sa_key().display().to_string()), "{msg}");
}

#[test]
fn node_certificates_carry_the_node_identity_and_are_stable() {
    let (_dir, paths) = setup();
    let pki = generate(&paths, &PkiSpec::new("demo"));
    let client = pki.issue_node_client("worker-1").unwrap();
    let info = client.info().unwrap();
    assert_eq!(info.subject_cn, "system:node:worker-1");
    assert_eq!(info.orgs, ["system:nodes"]);
    assert_eq!(pki.issue_node_client("worker-1").unwrap(), client);

    let ip = "10.0.0.11".parse().unwrap();
    let serving = pki.issue_node_serving("worker-1", &[ip]).unwrap();
    let sans = serving.info().unwrap().sans;
    assert!(sans.contains(&San::Dns("worker-1".into())) && sans.contains(&San::Ip(ip)));

    // A new address makes the serving certificate be reissued with it.
    let ip2 = "10.0.0.12".parse().unwrap();
    let wider = pki.issue_node_serving("worker-1", &[ip, ip2]).unwrap();
    assert_ne!(wider, serving);
    assert!(wider.info().unwrap().sans.contains(&San::Ip(ip2)));
}

#[test]
fn bad_node_names_are_rejected_before_touching_disk() {
    let (_dir, paths) = setup();
    let pki = generate(&paths, &PkiSpec::new("demo"));
    let err = pki.issue_node_client("../admin").unwrap_err().to_string();
    assert!(err.starts_with("invalid node name \"../admin\""), "{err}");
    assert!(!paths.nodes_dir().exists());
}

#[test]
fn issue_client_signs_in_memory_only() {
    let (_dir, paths) = setup();
    let pki = generate(&paths, &PkiSpec::new("demo"));
    let before = snapshot(paths.dir());
    let pair = pki
        .issue_client("alice", &["devs"], Duration::from_secs(3600))
        .unwrap();
    let info = pair.info().unwrap();
    assert_eq!(
        (info.subject_cn.as_str(), info.orgs.as_slice()),
        ("alice", &["devs".to_string()][..])
    );
    assert_eq!(info.issuer_cn, "demo-ca");
    assert!(info.not_after - info.not_before <= time::Duration::minutes(65));
    assert_eq!(snapshot(paths.dir()), before);
}

#[test]
fn an_invalid_service_cidr_is_reported_before_anything_is_written() {
    let (_dir, paths) = setup();
    let mut spec = PkiSpec::new("demo");
    spec.service_cidr = "10.96.0.0".into();
    let err = ClusterPki::load_or_generate(paths.clone(), &spec).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid service cidr \"10.96.0.0\""),
        "{err}"
    );
    assert!(!paths.ca_cert().exists());
}
