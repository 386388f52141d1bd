use super::*;
use crate::model::{Cluster, Entry, User};

fn doc(text: &str) -> Document {
    Document::parse(Path::new("/tmp/config"), text.to_owned()).unwrap()
}

fn entry(name: &str, server: &str) -> Entry {
    Entry::new(name, Cluster::new(server, b"CA"), User::token("t"))
}

fn add(doc: &mut Document, e: &Entry) {
    doc.upsert_item(Section::Clusters, &e.name, &e.named_cluster())
        .unwrap();
    doc.upsert_item(Section::Users, &e.name, &e.named_user())
        .unwrap();
    doc.upsert_item(Section::Contexts, &e.name, &e.named_context())
        .unwrap();
}

fn remove(doc: &mut Document, name: &str) {
    for section in [Section::Contexts, Section::Clusters, Section::Users] {
        doc.remove_items(section, name).unwrap();
    }
}

const KUBECTL_STYLE: &str = "apiVersion: v1
clusters:
- cluster:
    server: https://old.example:6443
  name: old
contexts:
- context:
    cluster: old
    user: old
  name: old
current-context: old
kind: Config
preferences: {}
users:
- name: old
  user:
    token: abc
";

#[test]
fn new_items_follow_kubectl_layout_after_existing_ones() {
    let mut d = doc(KUBECTL_STYLE);
    add(&mut d, &entry("local-dev", "https://127.0.0.1:6443"));
    let text = d.text();
    assert!(
        text.contains("  name: old\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://127.0.0.1:6443\n  name: local-dev\ncontexts:"),
        "{text}"
    );
    assert!(
        text.ends_with("    token: abc\n- name: local-dev\n  user:\n    token: t\n"),
        "{text}"
    );
}

#[test]
fn remove_after_add_restores_the_exact_bytes() {
    let mut d = doc(KUBECTL_STYLE);
    add(&mut d, &entry("local-dev", "https://127.0.0.1:6443"));
    remove(&mut d, "local-dev");
    assert_eq!(d.text(), KUBECTL_STYLE);
}

#[test]
fn upsert_replaces_in_place_keeping_neighbours() {
    let mut d = doc(KUBECTL_STYLE);
    add(&mut d, &entry("old", "https://new.example:6443"));
    let expected = KUBECTL_STYLE
        .replace(
            "- cluster:\n    server: https://old.example:6443\n",
            "- cluster:\n    certificate-authority-data: Q0E=\n    server: https://new.example:6443\n",
        )
        .replace("    token: abc\n", "    token: t\n");
    assert_eq!(d.text(), expected);
}

#[test]
fn indented_list_style_is_followed() {
    let text = "clusters:\n  - name: a\n    cluster:\n      server: https://a\n";
    let mut d = doc(text);
    d.upsert_item(
        Section::Clusters,
        "b",
        &entry("b", "https://b").named_cluster(),
    )
    .unwrap();
    assert!(d.text().starts_with(text), "{}", d.text());
    assert!(
        d.text()[text.len()..].starts_with("  - cluster:\n      certificate-authority-data"),
        "{}",
        d.text()
    );
}

#[test]
fn empty_sections_become_block_lists_and_come_back_as_brackets() {
    let text = "apiVersion: v1\nclusters: []\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers:\n";
    let mut d = doc(text);
    add(&mut d, &entry("x", "https://x"));
    let typed = d.typed().unwrap();
    assert_eq!(typed.context_names(), ["x"]);
    assert!(d.text().contains("clusters:\n- cluster:"), "{}", d.text());
    remove(&mut d, "x");
    assert_eq!(
        d.text(),
        "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\nusers: []\n"
    );
}

#[test]
fn missing_sections_are_appended() {
    let mut d = doc("# mine\napiVersion: v1\nkind: Config\n");
    add(&mut d, &entry("x", "https://x"));
    assert!(
        d.text()
            .starts_with("# mine\napiVersion: v1\nkind: Config\nclusters:\n- cluster:"),
        "{}",
        d.text()
    );
    assert_eq!(d.typed().unwrap().users[0].name, "x");
}

#[test]
fn empty_and_comment_only_files_get_the_kubectl_skeleton() {
    for text in ["", "# nothing yet", "---\n"] {
        let mut d = doc(text);
        add(&mut d, &entry("x", "https://x"));
        let typed = d.typed().unwrap();
        assert_eq!(
            (typed.api_version.as_str(), typed.kind.as_str()),
            ("v1", "Config")
        );
        assert_eq!(typed.context_names(), ["x"], "{text:?}");
        assert!(d.text().starts_with(text), "{text:?} -> {}", d.text());
    }
}

#[test]
fn flow_lists_are_rewritten_in_block_style_keeping_their_data() {
    let text = "apiVersion: v1\nclusters: [{name: a, cluster: {server: https://a, proxy-url: http://p}}] # flow\nkind: Config\n";
    let mut d = doc(text);
    d.upsert_item(
        Section::Clusters,
        "b",
        &entry("b", "https://b").named_cluster(),
    )
    .unwrap();
    let value: serde_yaml::Value = serde_yaml::from_str(d.text()).unwrap();
    assert_eq!(value["clusters"][0]["cluster"]["proxy-url"], "http://p");
    assert_eq!(value["clusters"][1]["name"], "b");
    assert!(
        d.text()
            .starts_with("apiVersion: v1\nclusters: # flow\n- name: a\n  cluster:\n"),
        "{}",
        d.text()
    );
    assert!(d.text().contains("\nkind: Config\n"));
}

#[test]
fn flow_root_is_rewritten_in_block_style() {
    for text in ["{}\n", "{apiVersion: v1, kind: Config}\n"] {
        let mut d = doc(text);
        add(&mut d, &entry("x", "https://x"));
        assert_eq!(d.typed().unwrap().context_names(), ["x"], "{}", d.text());
    }
}

#[test]
fn current_context_is_set_replaced_and_unset() {
    let mut d = doc("kind: Config\n");
    d.set_current_context("a").unwrap();
    assert_eq!(d.text(), "kind: Config\ncurrent-context: a\n");
    d.set_current_context("true").unwrap();
    assert_eq!(d.current_context().unwrap().as_deref(), Some("true"));
    d.set_current_context("").unwrap();
    assert_eq!(d.text(), "kind: Config\ncurrent-context: \"\"\n");
    let mut bare = doc("current-context:\nkind: Config\n");
    bare.set_current_context("b").unwrap();
    assert_eq!(bare.text(), "current-context: b\nkind: Config\n");
}

#[test]
fn file_without_final_newline_gets_one_before_new_text() {
    let mut d = doc("kind: Config");
    d.set_current_context("a").unwrap();
    assert_eq!(d.text(), "kind: Config\ncurrent-context: a\n");
}

#[test]
fn remove_keeps_comments_between_items() {
    let text = "users:\n- name: a\n  user: {}\n# about b\n- name: b\n  user: {}\n";
    let mut d = doc(text);
    assert!(d.remove_items(Section::Users, "a").unwrap());
    assert_eq!(d.text(), "users:\n# about b\n- name: b\n  user: {}\n");
    assert!(!d.remove_items(Section::Users, "zzz").unwrap());
}

#[test]
fn section_that_is_not_a_list_is_an_error_with_its_line() {
    let err = Document::parse(
        Path::new("/k"),
        "kind: Config\nclusters: {a: 1}\n".to_owned(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("/k") && message.contains("line 2"),
        "{message}"
    );
}

#[test]
fn exec_users_render_as_valid_items() {
    use crate::model::ExecConfig;
    let e = Entry::new(
        "eks-prod",
        Cluster::new("https://eks", b"CA"),
        User::exec(
            ExecConfig::new("aws", ["eks", "get-token", "--cluster-name", "prod"])
                .with_env("AWS_PROFILE", "p"),
        ),
    );
    let mut d = doc(KUBECTL_STYLE);
    add(&mut d, &e);
    let typed = d.typed().unwrap();
    assert_eq!(typed.user("eks-prod").unwrap().user, e.user);
}

#[test]
fn byte_order_mark_is_tolerated_and_kept() {
    let mut d = doc("\u{feff}apiVersion: v1\nkind: Config\n");
    add(&mut d, &entry("x", "https://x"));
    assert!(d
        .contents()
        .starts_with("\u{feff}apiVersion: v1\nkind: Config\n"));
    assert_eq!(d.typed().unwrap().context_names(), ["x"]);
}

#[test]
fn tagged_empty_list_is_filled_like_an_untagged_one() {
    let mut d = doc("apiVersion: v1\nclusters: !!seq []\nkind: Config\n");
    d.upsert_item(
        Section::Clusters,
        "x",
        &entry("x", "https://x").named_cluster(),
    )
    .unwrap();
    assert!(
        d.text()
            .starts_with("apiVersion: v1\nclusters:\n- cluster:\n"),
        "{}",
        d.text()
    );
}
