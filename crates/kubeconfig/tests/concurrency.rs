//! Concurrent writers (threads, processes, real kubectl) and stale locks.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterctl_kubeconfig::{CurrentContext, Error, Location, Store};
use common::{cert_entry, kubectl, kubectl_ok, kubectl_path, read_typed, HAND_EDITED};

/// Set for a child process started by `processes_writing_at_once_lose_nothing`:
/// `<kubeconfig path>` and the clusters to merge, separated by newlines.
const WORKER_ENV: &str = "CLUSTERCTL_KUBECONFIG_MERGE_WORKER";

#[test]
fn eight_threads_merging_different_clusters_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                Store::new(Location::file(&path))
                    .upsert(&cert_entry(&format!("t{i}")), CurrentContext::Keep)
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let config = read_typed(&path);
    for i in 0..8 {
        assert!(
            config.context(&format!("local-t{i}")).is_some(),
            "local-t{i} lost"
        );
    }
    assert_eq!(config.contexts.len(), 2 + 8);
    assert!(fs::read_to_string(&path)
        .unwrap()
        .starts_with("# Managed by hand"));
}

#[test]
fn processes_writing_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();

    let children: Vec<Child> = (0..4)
        .map(|p| {
            let spec = format!("{}\np{p}a\np{p}b", path.display());
            Command::new(std::env::current_exe().unwrap())
                .args(["merge_worker", "--exact", "--ignored", "--test-threads=1"])
                .env(WORKER_ENV, spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "a merging child process failed:\n{log}"
        );
    }

    let config = read_typed(&path);
    for p in 0..4 {
        for c in ["a", "b"] {
            assert!(
                config.context(&format!("local-p{p}{c}")).is_some(),
                "local-p{p}{c} lost"
            );
        }
    }
    if let Some(bin) = kubectl_path() {
        let listed = kubectl_ok(&bin, &path, &["config", "get-contexts", "-o", "name"]);
        assert_eq!(listed.lines().count(), 2 + 8, "{listed}");
    }
}

/// kubectl and clusterctl exclude each other through `<path>.lock`: while a kubectl-style lock is
/// held, clusterctl waits, and writes once it is released.
///
/// (Concurrent `kubectl config` writers can still lose entries among themselves and ours:
/// client-go reads the config before taking the lock and deletes, under the lock, whatever
/// appeared since, a client-go behaviour no other writer can prevent.)
#[test]
fn a_held_kubectl_lock_makes_clusterctl_wait_then_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let lock = dir.path().join("config.lock");
    fs::write(&path, HAND_EDITED).unwrap();
    fs::write(&lock, "").unwrap();
    let releaser = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            fs::remove_file(lock).unwrap();
        })
    };
    let started = Instant::now();
    Store::new(Location::file(&path))
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    releaser.join().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "wrote while the lock was held"
    );
    assert!(read_typed(&path).context("local-dev").is_some());
    if let Some(bin) = kubectl_path() {
        kubectl_ok(&bin, &path, &["config", "use-context", "local-dev"]);
    }
}

/// Not a test on its own: the body of the child processes above. Does nothing unless started
/// by them.
#[test]
#[ignore = "run as a child process by processes_writing_at_once_lose_nothing"]
fn merge_worker() {
    let Some(spec) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let spec = spec.into_string().unwrap();
    let mut lines = spec.lines();
    let path = PathBuf::from(lines.next().unwrap());
    // Generous: on a loaded 2-core machine four kubectl processes retrying in a loop can hold the
    // lock for seconds at a time; this test is about losing nothing, not about timing.
    let store = Store::new(Location::file(path)).with_lock_timeout(Duration::from_secs(120));
    for cluster in lines {
        store
            .upsert(&cert_entry(cluster), CurrentContext::Switch)
            .unwrap();
    }
}

#[test]
fn stale_lock_fails_the_write_after_the_bounded_wait_naming_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let lock = dir.path().join("config.lock");
    fs::write(&path, HAND_EDITED).unwrap();
    fs::write(&lock, "").unwrap();

    let store = Store::new(Location::file(&path)).with_lock_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let err = store
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "gave up before the wait was over"
    );
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&lock.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("rm {}", lock.display())),
        "{message}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), HAND_EDITED);
    assert!(lock.exists(), "someone else's lock must not be removed");
}

#[test]
fn clusterctl_lock_makes_kubectl_back_off() {
    let Some(bin) = kubectl_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    fs::write(dir.path().join("config.lock"), "").unwrap();
    let out = kubectl(&bin, &path, &["config", "use-context", "staging"]);
    assert!(
        !out.status.success(),
        "kubectl ignored the <path>.lock convention"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), HAND_EDITED);
}
