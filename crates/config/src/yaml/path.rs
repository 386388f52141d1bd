//! Field paths such as `nodeGroups[1].labels["node.kubernetes.io/role"]`, the names errors use.

/// The path of `key` inside the mapping at `parent`.
///
/// Keys that are not plain identifiers are quoted in brackets so the path stays unambiguous.
pub(crate) fn child(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

/// The path of item `index` of the sequence at `parent`.
pub(crate) fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The enclosing path, or `None` at the top of the document.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = if path.ends_with("\"]") {
        path.rfind("[\"")
    } else if path.ends_with(']') {
        path.rfind('[')
    } else {
        path.rfind('.')
    };
    Some(cut.map_or("", |at| &path[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_with_dots_and_slashes() {
        let labels = child(
            &child(&item("nodeGroups", 1), "labels"),
            "node.kubernetes.io/role",
        );
        assert_eq!(labels, r#"nodeGroups[1].labels["node.kubernetes.io/role"]"#);
        assert_eq!(child("", "metadata"), "metadata");
    }

    #[test]
    fn parent_walks_up_one_segment_at_a_time() {
        let mut path = r#"nodeGroups[1].labels["a.b/c"]"#;
        let mut seen = vec![];
        while let Some(up) = parent(path) {
            seen.push(up);
            path = up;
        }
        assert_eq!(
            seen,
            ["nodeGroups[1].labels", "nodeGroups[1]", "nodeGroups", ""]
        );
    }
}
