//! Node join against a real in-process API server with the controllers (the `csr` controller
//! signing with the server's CA): token + CA pin → CSR → approved → node kubeconfig; NodeRestriction
//! on the result; refusal of a mismatching CA before any request; 401 for unknown and expired
//! tokens; `kubectl get csr` and `kubectl certificate approve|deny` with the real kubectl.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use clusterctl_pki::JoinToken;
use clusterd_agent::bootstrap::{
    ensure_credentials, token, CertSummary, Credentials, Error, JoinConfig,
};
use clusterd_controllers::csr::CsrSigner;
use clusterd_controllers::{run_all, ControllersConfig};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{kube_client, kubectl_binary, wait_for, TestServer};

/// A server with the controllers running (csr signer included) on a runtime of the test's own.
fn server_with_controllers() -> (TestServer, tokio::runtime::Runtime) {
    let server = TestServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = server.dir.path().join("pki");
    let signer = CsrSigner::from_pem(
        &std::fs::read_to_string(pki.join("ca.crt")).unwrap(),
        &std::fs::read_to_string(pki.join("ca.key")).unwrap(),
    )
    .unwrap();
    let kubeconfig = server.kubeconfig.clone();
    runtime.spawn(async move {
        let config = ControllersConfig {
            identity: "join-test".into(),
            csr_signer: Some(Arc::new(signer)),
            ..ControllersConfig::default()
        };
        run_all(kube_client(&kubeconfig).await, config).await
    });
    (server, runtime)
}

fn join_config(server: &TestServer, node: &str, dir: &std::path::Path) -> JoinConfig {
    let mut cfg = JoinConfig::new(
        &format!("https://127.0.0.1:{}", server.addr.port()),
        node,
        dir,
    );
    cfg.node_ips = vec!["127.0.0.1".parse().unwrap()];
    cfg.approval_timeout = Duration::from_secs(60);
    cfg
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn node(name: &str) -> Node {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}))
        .unwrap()
}

#[test]
fn a_node_joins_with_a_token_and_may_change_only_its_own_node() {
    let (server, runtime) = server_with_controllers();
    let agent_dir = tempfile::tempdir().unwrap();
    let (token, pin) = runtime.block_on(async {
        let token = token::create_token(server.dir.path(), Duration::from_secs(3600))
            .await
            .unwrap();
        (token, token::ca_hash(server.dir.path()).unwrap())
    });
    let mut cfg = join_config(&server, "join-worker-1", agent_dir.path());
    cfg.token = Some(token.secret_str());
    cfg.ca_cert_hash = Some(pin);
    let creds: Credentials = runtime.block_on(ensure_credentials(&cfg)).unwrap();

    // Files: kubeconfig and keys 0600, the client certificate names the node.
    assert_eq!(mode(&creds.kubeconfig), 0o600);
    assert_eq!(mode(&creds.serving_key), 0o600);
    assert_eq!(mode(&agent_dir.path().join("pki/client.key")), 0o600);
    let client_cert = CertSummary::from_pem(&creds.node.cert_pem).unwrap();
    assert_eq!(client_cert.common_name, "system:node:join-worker-1");
    let lifetime = client_cert.not_after - client_cert.not_before;
    assert!(lifetime > time::Duration::days(364), "{lifetime}");
    let serving =
        CertSummary::from_pem(&std::fs::read_to_string(&creds.serving_cert).unwrap()).unwrap();
    assert!(serving.ip_addresses.contains(&"127.0.0.1".parse().unwrap()));
    assert!(serving.dns_names.contains(&"join-worker-1".to_owned()));
    assert_eq!(
        creds.ca_pem(),
        std::fs::read_to_string(server.dir.path().join("pki/ca.crt")).unwrap()
    );

    // NodeRestriction: its own Node yes, another node no.
    runtime.block_on(async {
        let admin: Api<Node> = Api::all(kube_client(&server.kubeconfig).await);
        admin
            .create(&PostParams::default(), &node("join-worker-2"))
            .await
            .unwrap();
        let nodes: Api<Node> = Api::all(creds.client().await.unwrap());
        nodes
            .create(&PostParams::default(), &node("join-worker-1"))
            .await
            .unwrap();
        let labels = json!({"metadata": {"labels": {"joined": "yes"}}});
        nodes
            .patch(
                "join-worker-1",
                &PatchParams::default(),
                &Patch::Merge(&labels),
            )
            .await
            .unwrap();
        let err = nodes
            .patch(
                "join-worker-2",
                &PatchParams::default(),
                &Patch::Merge(&labels),
            )
            .await
            .unwrap_err();
        match err {
            kube::Error::Api(status) => assert_eq!(status.code, 403, "{status:?}"),
            other => panic!("expected 403, got {other}"),
        }
    });

    // kubectl shows both requests approved and issued, requested by the bootstrap token and the node.
    if let Some(kubectl) = kubectl_binary() {
        let kubectl = server.kubectl(&kubectl);
        let out = kubectl.ok(&["get", "csr"]);
        let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME",
                "AGE",
                "SIGNERNAME",
                "REQUESTOR",
                "REQUESTEDDURATION",
                "CONDITION"
            ]
        );
        let client_row = out
            .lines()
            .find(|l| l.starts_with("node-csr-"))
            .unwrap_or_else(|| panic!("no node-csr row in\n{out}"));
        assert!(
            client_row.contains("kubernetes.io/kube-apiserver-client-kubelet")
                && client_row.contains(&format!("system:bootstrap:{}", token.id))
                && client_row.contains("Approved,Issued"),
            "{out}"
        );
        let serving_row = out
            .lines()
            .find(|l| l.contains("kubernetes.io/kubelet-serving"))
            .unwrap_or_else(|| panic!("no serving row in\n{out}"));
        assert!(
            serving_row.contains("system:node:join-worker-1")
                && serving_row.contains("Approved,Issued"),
            "{out}"
        );
    }

    // A restart reuses the credentials without a token: the files stay byte for byte.
    let before = std::fs::read(&creds.kubeconfig).unwrap();
    let serving_before = std::fs::read(&creds.serving_cert).unwrap();
    let mut again = cfg.clone();
    again.token = None;
    again.ca_cert_hash = None;
    let reused = runtime.block_on(ensure_credentials(&again)).unwrap();
    assert_eq!(std::fs::read(&reused.kubeconfig).unwrap(), before);
    assert_eq!(std::fs::read(&reused.serving_cert).unwrap(), serving_before);
}

#[test]
fn unknown_and_expired_tokens_are_a_clear_401() {
    let (server, runtime) = server_with_controllers();
    let pin = token::ca_hash(server.dir.path()).unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let mut cfg = join_config(&server, "join-unknown", agent_dir.path());
    cfg.ca_cert_hash = Some(pin);
    cfg.token = Some(JoinToken::generate(Duration::ZERO).secret_str());
    let err = runtime.block_on(ensure_credentials(&cfg)).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("401")
            && message.contains("bootstrap token")
            && message.contains("127.0.0.1"),
        "{message}"
    );

    let mut expired = JoinToken::generate(Duration::from_secs(3600));
    expired.expires = Some(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    runtime.block_on(async {
        token::store_token(kube_client(&server.kubeconfig).await, "test", &expired)
            .await
            .unwrap()
    });
    cfg.token = Some(expired.secret_str());
    let err = runtime.block_on(ensure_credentials(&cfg)).unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(!agent_dir.path().join("kubeconfig").exists());
}

#[test]
fn a_missing_token_or_pin_is_refused_before_contacting_anyone() {
    let agent_dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = JoinConfig::new("https://127.0.0.1:1", "lonely", agent_dir.path());
    let err = runtime.block_on(ensure_credentials(&cfg)).unwrap_err();
    assert!(err.to_string().contains("--token"), "{err}");
    cfg.token = Some("abcdef.0123456789abcdef".into());
    let err = runtime.block_on(ensure_credentials(&cfg)).unwrap_err();
    assert!(err.to_string().contains("--ca-cert-hash"), "{err}");
}

#[test]
fn kubectl_certificate_deny_and_approve_work_on_manual_requests() {
    let Some(kubectl) = kubectl_binary() else {
        return;
    };
    let (server, runtime) = server_with_controllers();
    let kubectl = server.kubectl(&kubectl);
    for name in ["manual-deny", "manual-approve"] {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "jane");
        let request = params.serialize_request(&key).unwrap().pem().unwrap();
        use base64::Engine as _;
        let csr = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64::engine::general_purpose::STANDARD.encode(request),
                     "signerName": "kubernetes.io/kube-apiserver-client", "expirationSeconds": 86400,
                     "usages": ["digital signature", "client auth"]}});
        let path = server.path(&format!("{name}.json"));
        std::fs::write(&path, csr.to_string()).unwrap();
        kubectl.ok(&["create", "-f", path.to_str().unwrap()]);
    }
    // Not a kubelet request: it stays pending for a human.
    std::thread::sleep(Duration::from_secs(2));
    let pending = kubectl.ok(&["get", "csr", "manual-deny", "--no-headers"]);
    assert!(
        pending.contains("Pending") && pending.contains("24h"),
        "{pending}"
    );
    assert!(pending.contains("kubernetes-admin"), "{pending}");

    let out = kubectl.ok(&["certificate", "deny", "manual-deny"]);
    assert!(out.contains("denied"), "{out}");
    let out = kubectl.ok(&["certificate", "approve", "manual-approve"]);
    assert!(out.contains("approved"), "{out}");
    wait_for(
        Duration::from_secs(30),
        "the approved request to be issued",
        || {
            let row = kubectl.ok(&["get", "csr", "manual-approve", "--no-headers"]);
            row.contains("Approved,Issued").then_some(row)
        },
    );
    let denied = kubectl.ok(&["get", "csr", "manual-deny", "-o", "json"]);
    let denied: serde_json::Value = serde_json::from_str(&denied).unwrap();
    assert_eq!(denied["status"]["conditions"][0]["type"], "Denied");
    assert_eq!(denied["status"]["conditions"][0]["reason"], "KubectlDeny");
    assert!(denied["status"].get("certificate").is_none(), "{denied}");
    let row = kubectl.ok(&["get", "csr", "manual-deny", "--no-headers"]);
    assert!(row.contains("Denied") && !row.contains("Issued"), "{row}");
    // Approving a denied request is refused: by kubectl, and by the server's approval
    // subresource when a client tries anyway (the conditions are exclusive).
    let err = kubectl.fails(&["certificate", "approve", "manual-deny"]);
    assert!(err.contains("already Denied"), "{err}");
    let mut both = denied.clone();
    both["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "Approved", "status": "True", "reason": "Sneaky"}));
    let err = runtime.block_on(async {
        let api: Api<k8s_openapi::api::certificates::v1::CertificateSigningRequest> =
            Api::all(kube_client(&server.kubeconfig).await);
        api.replace_subresource("approval", "manual-deny", &PostParams::default(), &both)
            .await
            .unwrap_err()
    });
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(status.message.contains("mutually exclusive"), "{status:?}");
        }
        other => panic!("expected 422, got {other}"),
    }
}

/// A TLS endpoint with the API server's configuration that records whether any application
/// bytes arrived on the connection.
async fn tls_listener(
    pki: &clusterctl_pki::ClusterPki,
) -> (u16, tokio::task::JoinHandle<Result<usize, String>>) {
    use tokio::io::AsyncReadExt as _;
    let config = clusterd_apiserver::tls::server_config(pki).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => return Ok(total),
                Ok(n) => total += n,
            }
        }
    });
    (port, handle)
}

#[test]
fn the_ca_pin_is_checked_in_the_handshake_before_any_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = clusterctl_pki::PkiSpec::new("pin-test")
        .with_sans([clusterctl_pki::San::parse("127.0.0.1").unwrap()]);
    let pki = clusterctl_pki::ClusterPki::load_or_generate(
        clusterctl_pki::PkiPaths::new(dir.path()),
        &spec,
    )
    .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = clusterctl_pki::ClusterPki::load_or_generate(
        clusterctl_pki::PkiPaths::new(other_dir.path()),
        &clusterctl_pki::PkiSpec::new("other"),
    )
    .unwrap();

    // The wrong pin: refused, naming both hashes, and the server received no byte of a request.
    let (port, received) = runtime.block_on(tls_listener(&pki));
    let agent_dir = tempfile::tempdir().unwrap();
    let mut cfg = JoinConfig::new(
        &format!("https://127.0.0.1:{port}"),
        "pinned",
        agent_dir.path(),
    );
    cfg.token = Some("abcdef.0123456789abcdef".into());
    cfg.ca_cert_hash = Some(other.ca_pin().to_owned());
    let err = runtime.block_on(ensure_credentials(&cfg)).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::CaPinMismatch { .. }), "{message}");
    assert!(
        message.contains(&format!(
            "the server's CA {} does not match --ca-cert-hash {}",
            pki.ca_pin(),
            other.ca_pin()
        )),
        "{message}"
    );
    let bytes = runtime.block_on(received).unwrap();
    assert!(
        matches!(bytes, Ok(0) | Err(_)),
        "the server received application data: {bytes:?}"
    );
    assert!(!agent_dir.path().join("kubeconfig").exists());

    // The right pin: the CA the server sends at the end of its chain is the cluster CA.
    let (port, _received) = runtime.block_on(tls_listener(&pki));
    let ca = runtime
        .block_on(clusterd_agent::bootstrap::discover_ca(
            &format!("https://127.0.0.1:{port}"),
            pki.ca_pin(),
            Duration::from_secs(10),
        ))
        .unwrap();
    assert_eq!(
        clusterctl_pki::ca_pin(&ca).unwrap(),
        pki.ca_pin(),
        "discovered {ca}"
    );
}
