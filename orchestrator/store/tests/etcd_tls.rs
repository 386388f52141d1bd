//! etcd over TLS with client certificates (`etcd+https://…?ca=…&cert=…&key=…`), against a real etcd
//! with `--client-cert-auth` and certificates made by the real `openssl`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clusterd_store::{AnyStore, Error, Store};
use support::etcd_server::{EtcdServer, ServerTls};
use support::value;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=test-etcd-ca",
        ],
    );
    for (name, usage, san) in [
        (
            "server",
            "serverAuth,clientAuth",
            "subjectAltName=IP:127.0.0.1\n",
        ),
        ("client", "clientAuth", ""),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("{san}extendedKeyUsage={usage}\n"),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_https_with_a_client_certificate_works_and_without_one_is_refused() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!(
            "SKIPPED: openssl is not installed; install it with `apt-get install -y openssl`"
        );
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    make_pki(pki.path());
    let file = |name: &str| pki.path().join(name);
    let Some(server) = EtcdServer::start_with_tls(Some(ServerTls {
        ca: file("ca.crt"),
        cert: file("server.crt"),
        key: file("server.key"),
    })) else {
        return;
    };
    let url = format!(
        "etcd+https://{}?ca={}&cert={}&key={}",
        server.client_address(),
        file("ca.crt").display(),
        file("client.crt").display(),
        file("client.key").display()
    );
    let mut store = None;
    for _ in 0..100 {
        match AnyStore::open(&url).await {
            Ok(opened) => {
                store = Some(opened);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let store =
        store.unwrap_or_else(|| panic!("no TLS connection to etcd; log:\n{}", server.log()));
    assert!(matches!(store, AnyStore::Etcd(_)));
    let revision = store
        .create("/registry/secrets/kube-system/tls", value("s"))
        .await
        .unwrap();
    let mut watch = store
        .watch("/registry/secrets/", revision - 1)
        .await
        .unwrap();
    assert_eq!(support::next_event(&mut watch).await.revision(), revision);

    // The server requires a client certificate: the CA alone is not enough.
    let without_cert = format!(
        "etcd+https://{}?ca={}",
        server.client_address(),
        file("ca.crt").display()
    );
    let error = AnyStore::open(&without_cert).await.unwrap_err();
    assert!(matches!(error, Error::Etcd { .. }), "got {error:?}");
    assert!(
        error.to_string().contains("client certificate none"),
        "{error}"
    );
    assert!(
        error.to_string().contains(&server.client_address()),
        "{error}"
    );

    // A missing certificate file is named in the error.
    let missing = format!(
        "etcd+https://{}?ca={}&cert=/nonexistent/client.crt&key={}",
        server.client_address(),
        file("ca.crt").display(),
        file("client.key").display()
    );
    let error = AnyStore::open(&missing).await.unwrap_err();
    assert!(
        matches!(&error, Error::ReadTlsFile { what: "cert", path, .. } if path == Path::new("/nonexistent/client.crt")),
        "got {error:?}"
    );
}
