//! Helpers shared by the integration tests (test-only code, not part of the library).
#![allow(dead_code)]

pub mod tls_server;

use clusterctl_pki::{ClusterPki, PkiPaths, PkiSpec};
use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

/// A fresh PKI for cluster `demo` in a new temporary directory.
pub fn fresh_pki() -> (tempfile::TempDir, ClusterPki) {
    let dir = tempfile::tempdir().expect("create temp dir");
    let pki =
        ClusterPki::load_or_generate(PkiPaths::new(dir.path().join("pki")), &PkiSpec::new("demo"))
            .expect("generate pki");
    (dir, pki)
}

/// Every regular file under `dir` (recursively, lock file excluded) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != ".lock") {
                out.insert(path.clone(), fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

/// The path of a tool the test needs, or `None` (after saying so on stderr) when it is not installed.
pub fn tool(path: &str) -> Option<PathBuf> {
    let found = if path.contains('/') {
        Some(PathBuf::from(path)).filter(|p| p.exists())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(path))
                .find(|p| p.exists())
        })
    };
    if found.is_none() {
        eprintln!("SKIPPED: {path} is not installed on this machine");
    }
    found
}
