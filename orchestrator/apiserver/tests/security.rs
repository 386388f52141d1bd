//! Authentication, RBAC and request errors as kubectl sees them: certificates made with the real
//! openssl, service-account tokens from `kubectl create token`, bootstrap tokens, 401/403/413/400.

mod support;

use std::path::Path;
use std::process::Command;

use support::{kubectl_binary, TestServer};

/// Signs a client certificate for `cn` in group `org` with the server's CA, using openssl.
fn openssl_client_cert(server: &TestServer, cn: &str, org: &str) -> Option<(String, String)> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIPPED: openssl is not installed");
        return None;
    }
    let dir = server.dir.path();
    let key = dir.join(format!("{cn}.key"));
    let csr = dir.join(format!("{cn}.csr"));
    let crt = dir.join(format!("{cn}.crt"));
    let ext = dir.join("client-ext.cnf");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    run(&[
        "ecparam",
        "-genkey",
        "-name",
        "prime256v1",
        "-noout",
        "-out",
        &s(&key),
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        &s(&key),
        "-subj",
        &format!("/CN={cn}/O={org}"),
        "-out",
        &s(&csr),
    ]);
    let ca = dir.join("pki/ca.crt");
    let ca_key = dir.join("pki/ca.key");
    run(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&crt),
    ]);
    Some((s(&crt), s(&key)))
}

/// A kubeconfig for the same server with other credentials (`--kubeconfig` flags only).
fn kubeconfig_with(server: &TestServer, name: &str, credentials: &[&str]) -> std::path::PathBuf {
    let bin = kubectl_binary().unwrap();
    let path = server.path(&format!("{name}.kubeconfig"));
    let admin = server.kubectl(&bin);
    let raw = admin.ok(&["config", "view", "--raw"]);
    std::fs::write(&path, raw).unwrap();
    let kubectl = admin.with_kubeconfig(&path);
    let mut args = vec!["config", "set-credentials", name];
    args.extend(credentials);
    kubectl.ok(&args);
    kubectl.ok(&[
        "config",
        "set-context",
        "--current",
        &format!("--user={name}"),
    ]);
    path
}

#[test]
fn a_user_without_rbac_is_refused_until_bound() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let Some((crt, key)) = openssl_client_cert(&server, "jane", "devs") else {
        return;
    };
    let admin = server.kubectl(&bin);
    let jane = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "jane",
        &[
            &format!("--client-certificate={crt}"),
            &format!("--client-key={key}"),
        ],
    ));
    let err = jane.fails(&["get", "pods"]);
    assert!(
        err.contains("Error from server (Forbidden): pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""),
        "{err}"
    );
    assert_eq!(jane.run(&["auth", "can-i", "list", "pods"]).stdout, b"no\n");
    let whoami = jane.ok(&["auth", "whoami"]);
    assert!(
        whoami.contains("jane") && whoami.contains("devs"),
        "{whoami}"
    );
    admin.ok(&[
        "create",
        "rolebinding",
        "devs-view",
        "--clusterrole=view",
        "--group=devs",
    ]);
    // RBAC changes reach the authorizer through a watch: allow it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while jane.run(&["auth", "can-i", "list", "pods"]).stdout != b"yes\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "the binding never took effect"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    jane.ok(&["get", "pods"]);
    let err = jane.fails(&["create", "configmap", "x"]);
    assert!(
        err.contains("cannot create resource \"configmaps\""),
        "{err}"
    );
    assert_eq!(
        admin.ok(&["auth", "can-i", "delete", "nodes"]).trim(),
        "yes"
    );
}

#[test]
fn requests_without_credentials_get_401_but_health_and_version_answer() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let admin = server.kubectl(&bin);
    // Basic credentials are not accepted (as upstream since 1.19), so the requests are anonymous.
    let anonymous = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "nobody",
        &["--username=nobody", "--password=secret"],
    ));
    let err = anonymous.fails(&["get", "pods"]);
    assert!(err.contains("You must be logged in to the server"), "{err}");
    assert_eq!(anonymous.ok(&["get", "--raw", "/healthz"]), "ok");
    assert!(anonymous
        .ok(&["get", "--raw", "/version"])
        .contains("v1.32.0+clusterd"));
}

#[test]
fn service_account_tokens_authenticate_as_their_account() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let admin = server.kubectl(&bin);
    admin.ok(&["create", "serviceaccount", "builder"]);
    let token = admin.ok(&["create", "token", "builder"]);
    let robot = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "builder",
        &[&format!("--token={}", token.trim())],
    ));
    let whoami = robot.ok(&["auth", "whoami"]);
    assert!(
        whoami.contains("system:serviceaccount:default:builder"),
        "{whoami}"
    );
    assert!(
        whoami.contains("system:serviceaccounts:default"),
        "{whoami}"
    );
    let err = robot.fails(&["get", "secrets"]);
    assert!(
        err.contains(
            "User \"system:serviceaccount:default:builder\" cannot list resource \"secrets\""
        ),
        "{err}"
    );
    let forged = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "forged",
        &["--token=eyJhbGciOiJFUzI1NiJ9.e30.AAAA"],
    ));
    assert!(forged
        .fails(&["get", "pods"])
        .contains("You must be logged in to the server"));
}

#[test]
fn oversized_and_malformed_bodies_get_status_errors() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    let big = server.path("big.txt");
    std::fs::write(&big, vec![b'a'; 4 * 1024 * 1024]).unwrap();
    let err = kubectl.fails(&[
        "create",
        "configmap",
        "big",
        &format!("--from-file={}", big.display()),
    ]);
    assert!(err.contains("Request entity too large"), "{err}");
    let bad = server.path("bad.json");
    std::fs::write(&bad, "{\"kind\": \"ConfigMap\", oops").unwrap();
    let err = kubectl.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("json parse error"), "{err}");
    let wrong = server.path("wrong.json");
    std::fs::write(
        &wrong,
        r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"x"}}"#,
    )
    .unwrap();
    let err = kubectl.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        wrong.to_str().unwrap(),
    ]);
    assert!(
        err.contains("BadRequest") || err.contains("cannot be handled as a ConfigMap"),
        "{err}"
    );
    let unknown = server.path("unknown.yaml");
    std::fs::write(
        &unknown,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nbogus: 1\n",
    )
    .unwrap();
    let err = kubectl.fails(&["apply", "-f", unknown.to_str().unwrap()]);
    assert!(err.contains("unknown field \"bogus\""), "{err}");
}

#[test]
fn a_node_may_change_only_its_own_node_lease_and_pods() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let Some((crt, key)) = openssl_client_cert(&server, "system:node:n1", "system:nodes") else {
        return;
    };
    let admin = server.kubectl(&bin);
    let node = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "n1",
        &[
            &format!("--client-certificate={crt}"),
            &format!("--client-key={key}"),
        ],
    ));
    let manifest = |name: &str| {
        let path = server.path(&format!("{name}.json"));
        std::fs::write(
            &path,
            format!(r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}"}}}}"#),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    assert_eq!(
        node.ok(&["create", "-f", &manifest("n1")]).trim(),
        "node/n1 created"
    );
    let err = node.fails(&["create", "-f", &manifest("n2")]);
    assert!(
        err.contains("node \"n1\" is not allowed to modify node"),
        "{err}"
    );
    node.ok(&["label", "node", "n1", "zone=a"]);
    admin.ok(&["create", "-f", &manifest("n2")]);
    assert!(node
        .fails(&["label", "node", "n2", "zone=a"])
        .contains("Forbidden"));
    admin.ok(&["run", "elsewhere", "--image=nginx", "--restart=Never"]);
    let err = node.fails(&["delete", "pod", "elsewhere"]);
    assert!(
        err.contains("can only modify pods with spec.nodeName set to itself"),
        "{err}"
    );
}

#[test]
fn secrets_are_encrypted_at_rest_when_asked_and_read_back_in_clear() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start_with(|config| config.encrypt_secrets = true);
    let kubectl = server.kubectl(&bin);
    kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "vault",
        "--from-literal=password=hunter2",
    ]);
    kubectl.ok(&["create", "configmap", "plain", "--from-literal=color=blue"]);
    assert_eq!(
        kubectl.ok(&["get", "secret", "vault", "-o", "jsonpath={.data.password}"]),
        "aHVudGVyMg=="
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = server.state.store.backend().clone();
    let raw = |key: &'static str| {
        let backend = backend.clone();
        runtime.block_on(async move {
            clusterd_store::Store::get(&backend, key)
                .await
                .unwrap()
                .unwrap()
                .value
        })
    };
    let secret = raw("/registry/core/secrets/default/vault");
    assert!(secret.starts_with(b"k8s:enc:aesgcm:v1:key1:"), "{secret:?}");
    assert!(!String::from_utf8_lossy(&secret).contains("aHVudGVyMg=="));
    let config_map = raw("/registry/core/configmaps/default/plain");
    assert!(
        String::from_utf8_lossy(&config_map).contains("blue"),
        "only Secrets are encrypted"
    );
}

#[test]
fn a_bootstrap_token_authenticates_as_a_bootstrapper() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let admin = server.kubectl(&bin);
    admin.ok(&[
        "-n",
        "kube-system",
        "create",
        "secret",
        "generic",
        "bootstrap-token-abcdef",
        "--type=bootstrap.kubernetes.io/token",
        "--from-literal=token-id=abcdef",
        "--from-literal=token-secret=0123456789abcdef",
        "--from-literal=usage-bootstrap-authentication=true",
        "--from-literal=auth-extra-groups=system:bootstrappers:kubeadm:default-node-token",
    ]);
    let joiner = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "joiner",
        &["--token=abcdef.0123456789abcdef"],
    ));
    let whoami = joiner.ok(&["auth", "whoami"]);
    assert!(whoami.contains("system:bootstrap:abcdef"), "{whoami}");
    assert!(
        whoami.contains("system:bootstrappers:kubeadm:default-node-token"),
        "{whoami}"
    );
    assert_eq!(
        joiner
            .run(&["auth", "can-i", "list", "secrets", "-n", "kube-system"])
            .stdout,
        b"no\n"
    );
    let wrong = admin.with_kubeconfig(&kubeconfig_with(
        &server,
        "wrong",
        &["--token=abcdef.0123456789abcdee"],
    ));
    assert!(wrong
        .fails(&["auth", "whoami"])
        .contains("You must be logged in to the server"));
}
