//! `$KUBECONFIG` lists: one merged view, new entries to the first file, updates in place.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;

use clusterctl_kubeconfig::{CurrentContext, Location, Store};
use common::{cert_entry, kubectl_path, read_typed, HAND_EDITED};

const SECOND: &str = "# second file
apiVersion: v1
clusters:
- cluster:
    server: https://127.0.0.1:6443
  name: local-dev
contexts:
- context:
    cluster: local-dev
    user: local-dev
  name: local-dev
kind: Config
users:
- name: local-dev
  user:
    token: old-token
- name: bob
  user:
    token: bob
";

fn env_store(files: &[&Path]) -> (Store, OsString) {
    let list = std::env::join_paths(files).unwrap();
    let location = Location::from_parts(None, Some(&list), None).unwrap();
    (Store::new(location), list)
}

#[test]
fn new_entries_go_to_the_first_file_and_existing_ones_are_updated_where_they_live() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    fs::write(&first, HAND_EDITED).unwrap();
    fs::write(&second, SECOND).unwrap();
    let (store, list) = env_store(&[&first, &second]);

    store
        .upsert(&cert_entry("new"), CurrentContext::Keep)
        .unwrap();
    let mut updated = cert_entry("dev");
    updated.cluster = clusterctl_kubeconfig::Cluster {
        server: "https://127.0.0.1:6443".to_owned(),
        ..Default::default()
    };
    updated.user = clusterctl_kubeconfig::User::token("new-token");
    store.upsert(&updated, CurrentContext::Switch).unwrap();

    let one = read_typed(&first);
    assert!(
        one.context("local-new").is_some(),
        "new entry belongs in the first file"
    );
    assert!(
        one.context("local-dev").is_none(),
        "existing entry must not be copied to the first file"
    );
    assert_eq!(
        one.current_context(),
        Some("local-dev"),
        "current-context goes to the first file"
    );

    let two = fs::read_to_string(&second).unwrap();
    assert_eq!(two, SECOND.replace("token: old-token", "token: new-token"));

    let merged = store.load().unwrap();
    assert_eq!(
        merged.context_names(),
        ["prod", "staging", "local-new", "local-dev"]
    );
    assert_eq!(
        merged.user("local-dev").unwrap().user.token.as_deref(),
        Some("new-token")
    );

    if let Some(kubectl) = kubectl_path() {
        let out = Command::new(kubectl)
            .args(["config", "get-contexts", "-o", "name"])
            .env("KUBECONFIG", &list)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut names: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        assert_eq!(names, ["local-dev", "local-new", "prod", "staging"]);
    }
}

#[test]
fn remove_deletes_the_entry_from_whichever_file_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    fs::write(&first, HAND_EDITED).unwrap();
    fs::write(&second, SECOND).unwrap();
    let (store, _) = env_store(&[&first, &second]);
    assert!(store.remove("local-dev").unwrap());
    assert_eq!(fs::read_to_string(&first).unwrap(), HAND_EDITED);
    let two = read_typed(&second);
    assert!(two.context("local-dev").is_none() && two.cluster("local-dev").is_none());
    assert_eq!(two.users.len(), 1, "bob stays");
}

#[test]
fn first_file_to_define_a_name_wins_in_the_merged_view() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    fs::write(&first, SECOND.replace("old-token", "first-token")).unwrap();
    fs::write(&second, SECOND).unwrap();
    let (store, _) = env_store(&[&first, &second]);
    let merged = store.load().unwrap();
    assert_eq!(
        merged.user("local-dev").unwrap().user.token.as_deref(),
        Some("first-token")
    );
    assert_eq!(merged.users.len(), 2);
}

#[test]
fn missing_files_in_the_list_read_as_empty_and_the_last_one_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        dir.path().join("a").join("first"),
        dir.path().join("second"),
    );
    let (store, _) = env_store(&[&first, &second]);
    assert!(store.contexts().unwrap().is_empty());
    store
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap();
    // client-go's GetDefaultFilename: no listed file exists, so the last one receives it.
    assert!(!first.exists());
    assert_eq!(read_typed(&second).context_names(), ["local-dev"]);
}
