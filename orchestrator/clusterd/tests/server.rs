//! `clusterd server` as a process: it writes a 0600 admin kubeconfig real kubectl uses, keeps its
//! state across restarts on the same data dir, and exits cleanly on SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn kubectl() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/kubectl");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: /usr/bin/kubectl is not installed");
        None
    }
}

/// Starts the server on a free port and waits until its kubeconfig answers.
fn start(dir: &Path) -> Child {
    let kubeconfig = dir.join("admin.kubeconfig");
    let _ = std::fs::remove_file(&kubeconfig);
    let child = Command::new(env!("CARGO_BIN_EXE_clusterd"))
        .args(["server", "--bind", "127.0.0.1", "--port", "0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clusterd server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig after 30s");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn run_kubectl(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let output = Command::new(bin)
        .arg("--kubeconfig")
        .arg(dir.join("admin.kubeconfig"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .output()
        .expect("run kubectl");
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "clusterd server exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "clusterd server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn server_serves_kubectl_keeps_state_across_restarts_and_stops_on_sigterm() {
    let Some(bin) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mode = std::fs::metadata(dir.path().join("admin.kubeconfig"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        run_kubectl(&bin, dir.path(), &["create", "namespace", "kept"]).trim(),
        "namespace/kept created"
    );
    stop(server);
    let server = start(dir.path());
    let namespaces = run_kubectl(&bin, dir.path(), &["get", "namespaces", "-o", "name"]);
    assert!(
        namespaces.lines().any(|l| l == "namespace/kept"),
        "{namespaces}"
    );
    assert!(dir.path().join("db/state.db").exists());
    assert!(dir.path().join("pki/ca.crt").exists());
    stop(server);
}
