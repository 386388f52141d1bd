//! One context, with its cluster and user, as a kubeconfig document of its own (kind's
//! `get kubeconfig`).

use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::model::Entry;

/// Renders `entry` alone as a kubeconfig document whose current context is the entry.
pub fn render_standalone(entry: &Entry) -> Result<String> {
    serde_yaml::to_string(&entry.to_kubeconfig()).map_err(|source| Error::Render {
        name: entry.name.clone(),
        source,
    })
}

/// Why [`extract`] found nothing to render.
#[derive(Debug)]
pub(crate) enum Missing {
    /// No file defines the context.
    Context,
    /// The context refers to a `cluster` or `user` that no file defines.
    Entry { kind: &'static str, name: String },
    /// A file could not be read as YAML, or the result not rendered.
    Failed(Error),
}

/// Copies the context `context` and the cluster and user it names out of the files' texts
/// (first file to define a name wins), as they are written there, into a new document.
pub(crate) fn extract(texts: &[(PathBuf, String)], context: &str) -> Result<String, Missing> {
    let mut docs = Vec::with_capacity(texts.len());
    for (path, text) in texts {
        let value: Value = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            Missing::Failed(Error::Parse {
                path: path.clone(),
                line,
                column,
                message: e.to_string(),
            })
        })?;
        docs.push(value);
    }
    let ctx = find(&docs, "contexts", context).ok_or(Missing::Context)?;
    let reference = |field: &str| {
        ctx.get("context")
            .and_then(|c| c.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let entries =
        |section: &str, kind: &'static str, name: String| -> Result<Vec<Value>, Missing> {
            if name.is_empty() {
                return Ok(Vec::new());
            }
            match find(&docs, section, &name) {
                Some(item) => Ok(vec![item.clone()]),
                None => Err(Missing::Entry { kind, name }),
            }
        };
    let clusters = entries("clusters", "cluster", reference("cluster"))?;
    let users = entries("users", "user", reference("user"))?;

    let mut out = Mapping::new();
    out.insert("apiVersion".into(), "v1".into());
    out.insert("clusters".into(), Value::Sequence(clusters));
    out.insert("contexts".into(), Value::Sequence(vec![ctx.clone()]));
    out.insert("current-context".into(), context.into());
    out.insert("kind".into(), "Config".into());
    out.insert("preferences".into(), Value::Mapping(Mapping::new()));
    out.insert("users".into(), Value::Sequence(users));
    serde_yaml::to_string(&out).map_err(|source| {
        Missing::Failed(Error::Render {
            name: context.to_owned(),
            source,
        })
    })
}

/// The first item called `name` in the list `section` of any document.
fn find<'d>(docs: &'d [Value], section: &str, name: &str) -> Option<&'d Value> {
    docs.iter()
        .filter_map(|d| d.get(section).and_then(Value::as_sequence))
        .flatten()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cluster, Kubeconfig, User};

    #[test]
    fn rendered_entry_reads_back_as_the_same_entry() {
        let entry = Entry::new(
            "local-dev",
            Cluster::new("https://127.0.0.1:6443", b"CA"),
            User::token("t"),
        )
        .with_namespace("apps");
        let text = render_standalone(&entry).unwrap();
        let back: Kubeconfig = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, entry.to_kubeconfig());
        assert!(
            text.starts_with("apiVersion: v1\nclusters:\n- cluster:\n"),
            "{text}"
        );
    }

    #[test]
    fn extract_copies_unmodelled_fields_and_skips_other_entries() {
        let text = "clusters:\n- name: a\n  cluster: {server: https://a, proxy-url: http://proxy}\n- name: b\n  cluster: {server: https://b}\ncontexts:\n- name: ctx\n  context: {cluster: a, user: u}\nusers:\n- name: u\n  user: {auth-provider: {name: oidc}}\n";
        let out = extract(&[(PathBuf::from("f"), text.to_owned())], "ctx").unwrap();
        let back: Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(back["clusters"].as_sequence().unwrap().len(), 1);
        assert_eq!(back["clusters"][0]["cluster"]["proxy-url"], "http://proxy");
        assert_eq!(back["users"][0]["user"]["auth-provider"]["name"], "oidc");
        assert_eq!(back["current-context"], "ctx");
    }

    #[test]
    fn extract_reports_a_missing_context_or_reference() {
        let text = "contexts:\n- name: ctx\n  context: {cluster: gone, user: u}\n".to_owned();
        let texts = [(PathBuf::from("f"), text)];
        assert!(matches!(extract(&texts, "other"), Err(Missing::Context)));
        assert!(matches!(
            extract(&texts, "ctx"),
            Err(Missing::Entry {
                kind: "cluster",
                ..
            })
        ));
    }
}
