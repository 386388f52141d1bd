//! Merging into and removing from one kubeconfig file on disk.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::path::Path;

use clusterctl_kubeconfig::{CurrentContext, Error, Location, Store};
use common::{added_lines, cert_entry, exec_entry, read_typed, HAND_EDITED};

fn store(path: &Path) -> Store {
    Store::new(Location::file(path))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn merge_into_missing_file_creates_it_0600_in_a_0700_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".kube").join("config");
    let entry = cert_entry("dev");
    store(&path).upsert(&entry, CurrentContext::Switch).unwrap();

    let config = read_typed(&path);
    assert_eq!(config.context_names(), ["local-dev"]);
    assert_eq!(config.current_context(), Some("local-dev"));
    assert_eq!(config.cluster("local-dev").unwrap().cluster, entry.cluster);
    assert_eq!(config.user("local-dev").unwrap().user, entry.user);
    assert_eq!(
        (config.api_version.as_str(), config.kind.as_str()),
        ("v1", "Config")
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert!(
        !dir.path().join(".kube/config.lock").exists(),
        "lock left behind"
    );
}

#[test]
fn merge_into_empty_file_writes_a_full_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, "").unwrap();
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    let config = read_typed(&path);
    assert_eq!(config.context_names(), ["local-dev"]);
    assert_eq!(config.current_context(), None);
}

#[test]
fn merge_keeps_unrelated_entries_and_comments_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();

    let output = fs::read_to_string(&path).unwrap();
    let added = added_lines(HAND_EDITED, &output);
    let ours = cert_entry("dev");
    let expected_items = [
        serde_yaml::to_string(&ours.named_cluster()).unwrap(),
        serde_yaml::to_string(&ours.named_context()).unwrap(),
        serde_yaml::to_string(&ours.named_user()).unwrap(),
    ];
    let expected_lines: usize = expected_items.iter().map(|i| i.lines().count()).sum();
    assert_eq!(
        added.len(),
        expected_lines,
        "unexpected additions: {added:?}"
    );
    assert!(
        added
            .iter()
            .all(|l| !l.contains("prod") && !l.contains("alice")),
        "{added:?}"
    );

    let config = read_typed(&path);
    let names = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        names(config.clusters.iter().map(|c| c.name.as_str()).collect()),
        ["prod", "staging", "local-dev"]
    );
    assert_eq!(
        names(config.context_names()),
        ["prod", "staging", "local-dev"]
    );
    assert_eq!(
        names(config.users.iter().map(|u| u.name.as_str()).collect()),
        ["alice", "local-dev"]
    );
    assert_eq!(config.current_context(), Some("prod"));
    assert!(
        output.ends_with("\n# trailing comment at the end of the file\n"),
        "{output}"
    );
}

#[test]
fn upsert_twice_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let s = store(&path);
    s.upsert(&exec_entry("prod"), CurrentContext::Switch)
        .unwrap();
    let first = fs::read(&path).unwrap();
    s.upsert(&exec_entry("prod"), CurrentContext::Switch)
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), first);
}

#[test]
fn upsert_replaces_a_changed_entry_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let s = store(&path);
    s.upsert(&cert_entry("dev"), CurrentContext::Keep).unwrap();
    s.upsert(&cert_entry("other"), CurrentContext::Keep)
        .unwrap();
    let mut changed = cert_entry("dev");
    changed.cluster.server = "https://127.0.0.1:7443".to_owned();
    s.upsert(&changed, CurrentContext::Keep).unwrap();

    let config = read_typed(&path);
    assert_eq!(
        config.cluster("local-dev").unwrap().cluster.server,
        "https://127.0.0.1:7443"
    );
    assert_eq!(
        config.context_names(),
        ["prod", "staging", "local-dev", "local-other"]
    );
    assert_eq!(config.clusters.len(), 4, "replaced, not duplicated");
}

#[test]
fn remove_after_merge_gives_back_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let s = store(&path);
    s.upsert(&cert_entry("dev"), CurrentContext::Keep).unwrap();
    s.upsert(&exec_entry("prod"), CurrentContext::Keep).unwrap();
    assert!(s.remove("local-dev").unwrap());
    assert!(s.remove("eks-prod").unwrap());
    assert_eq!(fs::read_to_string(&path).unwrap(), HAND_EDITED);
}

#[test]
fn remove_unsets_current_context_only_when_it_pointed_at_the_removed_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let s = store(&path);
    s.upsert(&cert_entry("a"), CurrentContext::Keep).unwrap();
    s.upsert(&cert_entry("b"), CurrentContext::Switch).unwrap();

    s.remove("local-a").unwrap();
    assert_eq!(s.current_context().unwrap().as_deref(), Some("local-b"));
    s.remove("local-b").unwrap();
    assert_eq!(s.current_context().unwrap(), None);
    assert_eq!(s.contexts().unwrap(), ["prod", "staging"]);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        HAND_EDITED.replace("current-context: prod", "current-context: \"\"")
    );
}

#[test]
fn remove_leaves_entries_of_other_names_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    assert!(!store(&path).remove("local-nothing").unwrap());
    assert_eq!(fs::read_to_string(&path).unwrap(), HAND_EDITED);
}

#[test]
fn write_leaves_a_0600_file_even_when_the_old_one_was_0644() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn symlinked_kubeconfig_is_written_through_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("dotfiles-kubeconfig");
    let link = dir.path().join("config");
    fs::write(&target, HAND_EDITED).unwrap();
    symlink(&target, &link).unwrap();
    store(&link)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(read_typed(&target).context("local-dev").is_some());
}

#[test]
fn malformed_kubeconfig_is_reported_with_file_and_line_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let broken = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://a\n  name: [unclosed\nkind: Config\n";
    fs::write(&path, broken).unwrap();
    let err = store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line "), "{message}");
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
    assert!(!dir.path().join("config.lock").exists(), "lock left behind");
}

#[test]
fn kubeconfig_with_wrong_shape_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, "apiVersion: v1\nkind: Config\nusers: alice\n").unwrap();
    let message = store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap_err()
        .to_string();
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn render_standalone_returns_only_the_requested_context() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, HAND_EDITED).unwrap();
    let s = store(&path);
    s.upsert(&exec_entry("prod"), CurrentContext::Keep).unwrap();
    let text = s.render_standalone("eks-prod").unwrap();
    let alone: clusterctl_kubeconfig::Kubeconfig = serde_yaml::from_str(&text).unwrap();
    assert_eq!(alone, exec_entry("prod").to_kubeconfig());

    let out = dir.path().join("out").join("eks-prod.yaml");
    clusterctl_kubeconfig::write_file(&out, &text).unwrap();
    assert_eq!(mode(&out), 0o600);
    assert!(matches!(
        s.render_standalone("nope"),
        Err(Error::ContextNotFound { .. })
    ));
}
