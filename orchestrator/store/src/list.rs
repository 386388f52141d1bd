//! Options and results of a paged list.

use crate::KeyValue;

/// How to list a prefix: at which revision, how many keys, and from where (the continue token).
///
/// To page consistently, pass the first page's [`ListResult::revision`] and the last key of the
/// previous page to every following call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// The revision to read at; `None` or `0` reads the latest.
    pub revision: Option<i64>,
    /// The most keys to return; `None` or `0` returns all.
    pub limit: Option<usize>,
    /// Return only keys sorted strictly after this one (the previous page's last key).
    pub start_after: Option<String>,
}

impl ListOptions {
    /// Options that read the latest revision, everything, from the start.
    pub fn latest() -> Self {
        Self::default()
    }

    /// Reads at `revision` instead of the latest.
    pub fn at_revision(mut self, revision: i64) -> Self {
        self.revision = Some(revision);
        self
    }

    /// Returns at most `limit` keys.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues after `key`.
    pub fn starting_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// The requested revision, with `0` meaning latest.
    pub(crate) fn requested_revision(&self) -> Option<i64> {
        self.revision.filter(|r| *r != 0)
    }

    /// The requested limit, with `0` meaning unlimited.
    pub(crate) fn requested_limit(&self) -> Option<usize> {
        self.limit.filter(|l| *l != 0)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// The live keys of this page, in key order.
    pub items: Vec<KeyValue>,
    /// The revision the page was read at (the list's `resourceVersion`); pass it to the next page.
    pub revision: i64,
    /// Whether more keys follow this page.
    pub more: bool,
}

impl ListResult {
    /// The options that fetch the page after this one, or `None` if this was the last page.
    pub fn next_page(&self, limit: Option<usize>) -> Option<ListOptions> {
        if !self.more {
            return None;
        }
        let last = self.items.last()?;
        Some(ListOptions {
            revision: Some(self.revision),
            limit,
            start_after: Some(last.key.clone()),
        })
    }
}
