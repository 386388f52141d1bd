//! Which keys a prefix selects.

use crate::{Error, Result};

/// The half-open key range `[start, end)` selected by a prefix, compared byte for byte.
///
/// A prefix names a directory: `/registry/pods/def` and `/registry/pods/def/` both select the keys
/// under `/registry/pods/def/` and never `/registry/pods/default/a` (the Kubernetes etcd3 storage layer
/// adds the same trailing `/` before it lists or watches). The empty prefix selects every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// The first key of the range (the directory prefix, ending in `/`, or empty).
    pub start: String,
    /// The first key after the range, or `None` for "to the end of the keyspace".
    pub end: Option<String>,
}

impl KeyRange {
    /// The range of the directory named by `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        if prefix.is_empty() {
            return Self {
                start: String::new(),
                end: None,
            };
        }
        let start = if prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        // The range ends just after every key starting with `start`: replace the trailing '/' with
        // the next byte, '0'. Both are ASCII, so `end` stays valid UTF-8.
        let end = format!("{}0", &start[..start.len() - 1]);
        Self {
            start,
            end: Some(end),
        }
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &str) -> bool {
        key >= self.start.as_str() && self.end.as_deref().is_none_or(|end| key < end)
    }
}

/// Rejects keys no backend can store the same way.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    let reason = if key.is_empty() {
        "keys must not be empty"
    } else if key.contains('\0') {
        "keys must not contain NUL bytes"
    } else {
        return Ok(());
    };
    Err(Error::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_without_trailing_slash_names_the_same_directory() {
        assert_eq!(
            KeyRange::prefix("/registry/pods/def"),
            KeyRange::prefix("/registry/pods/def/")
        );
    }

    #[test]
    fn directory_range_excludes_keys_that_only_share_a_string_prefix() {
        let range = KeyRange::prefix("/registry/pods/def");
        assert!(range.contains("/registry/pods/def/a"));
        assert!(!range.contains("/registry/pods/default/a"));
        assert!(!range.contains("/registry/pods/def"));
        assert!(!range.contains("/registry/pods/def0"));
        assert!(!range.contains("/registry/pods/de"));
    }

    #[test]
    fn empty_prefix_selects_every_key() {
        let range = KeyRange::prefix("");
        assert!(range.contains("/a"));
        assert!(range.contains("\u{10FFFF}"));
        assert_eq!(range.end, None);
    }

    #[test]
    fn range_keeps_multibyte_keys_inside() {
        let range = KeyRange::prefix("/registry/configmaps/ns");
        assert!(range.contains("/registry/configmaps/ns/ünïcode"));
        assert!(range.contains("/registry/configmaps/ns/\u{10FFFF}"));
    }

    #[test]
    fn empty_and_nul_keys_are_rejected() {
        assert!(matches!(
            validate_key(""),
            Err(Error::InvalidKey { reason, .. }) if reason.contains("empty")
        ));
        assert!(matches!(
            validate_key("/a\0b"),
            Err(Error::InvalidKey { reason, .. }) if reason.contains("NUL")
        ));
        assert!(validate_key("/registry/pods/default/a").is_ok());
    }
}
