//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clusterctl_kubeconfig::{context_name, Cluster, Entry, ExecConfig, Kubeconfig, User};

/// A hand-edited kubeconfig with comments, odd spacing, a flow-style item and quoting.
pub const HAND_EDITED: &str = include_str!("../fixtures/hand-edited.yaml");

/// A client-certificate entry as the local provider would add it.
pub fn cert_entry(cluster: &str) -> Entry {
    Entry::new(
        context_name("local", cluster),
        Cluster::new(
            "https://127.0.0.1:6443",
            b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
        ),
        User::client_certificate(
            b"-----BEGIN CERTIFICATE-----\nME\n",
            b"-----BEGIN EC PRIVATE KEY-----\nK\n",
        ),
    )
}

/// An exec-plugin entry as the EKS provider would add it.
pub fn exec_entry(cluster: &str) -> Entry {
    let exec = ExecConfig::new(
        "aws",
        [
            "eks",
            "get-token",
            "--cluster-name",
            cluster,
            "--output",
            "json",
        ],
    )
    .with_env("AWS_PROFILE", "dev")
    .with_cluster_info(true);
    Entry::new(
        context_name("eks", cluster),
        Cluster::new("https://ABC.gr7.eu-west-1.eks.amazonaws.com", b"CA")
            .with_tls_server_name("abc.eks"),
        User::exec(exec),
    )
    .with_namespace("kube-system")
}

/// Parses a kubeconfig file with the crate's serde view.
pub fn read_typed(path: &Path) -> Kubeconfig {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{text}", path.display()))
}

/// Lines of `output` that are not in `original`, after checking that every line of `original`
/// is still there, in order and unchanged (a longest-common-subsequence diff).
pub fn added_lines(original: &str, output: &str) -> Vec<String> {
    let a: Vec<&str> = original.split_inclusive('\n').collect();
    let b: Vec<&str> = output.split_inclusive('\n').collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    assert_eq!(
        lcs[0][0],
        a.len(),
        "some original lines were changed or lost:\n{output}"
    );
    let (mut i, mut j, mut added) = (0, 0, Vec::new());
    while j < b.len() {
        if i < a.len() && a[i] == b[j] && lcs[i][j] == lcs[i + 1][j + 1] + 1 {
            i += 1;
        } else {
            added.push(b[j].to_owned());
        }
        j += 1;
    }
    added
}

/// The real kubectl, or `None` (with a note on stderr) when it is not installed.
pub fn kubectl_path() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kubectl"))
                .find(|k| k.is_file())
        })
        .unwrap_or(None);
    if found.is_none() {
        eprintln!(
            "SKIPPED: kubectl is not installed; install it to run the kubectl compatibility checks"
        );
    }
    found
}

/// Runs `kubectl --kubeconfig <file> <args...>` and returns its output.
pub fn kubectl(kubectl: &Path, file: &Path, args: &[&str]) -> Output {
    Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(file)
        .args(args)
        .output()
        .unwrap()
}

/// Runs kubectl and returns stdout, failing the test with stderr when it fails.
pub fn kubectl_ok(kubectl_bin: &Path, file: &Path, args: &[&str]) -> String {
    let out = kubectl(kubectl_bin, file, args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed on {}: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    String::from_utf8(out.stdout).unwrap()
}
