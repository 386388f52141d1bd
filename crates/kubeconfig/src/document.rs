//! One kubeconfig file's text, edited in place.
//!
//! Every edit is a splice of the byte ranges found by [`crate::layout`]: a new item is appended
//! after the last item of its list in that list's indentation style, a changed item's range is
//! replaced, a removed item's lines are cut. Everything else (unrelated entries, their order,
//! comments, quoting, blank lines) stays byte-for-byte.
//!
//! Fallback: a list written in flow style (`clusters: [{...}]`) cannot be edited item by item,
//! so the first edit to that list rewrites just that list in block style (its data is kept, any
//! comments inside the brackets are not). A document that is itself a flow mapping (`{...}`) is
//! rewritten in block style the same way.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout::{analyze, BlockRoot, Item, Root, TopKey, ValueLayout};
use crate::model::Kubeconfig;

const BOM: char = '\u{feff}';

/// What a fresh (or empty) file becomes before the first entry goes in: kubectl's layout.
const SKELETON: &str = "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: []\n";

/// The three named lists of a kubeconfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Clusters,
    Contexts,
    Users,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Clusters => "clusters",
            Section::Contexts => "contexts",
            Section::Users => "users",
        }
    }
}

/// The text of one kubeconfig file, known to parse.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    path: PathBuf,
    /// The text after any byte-order mark, which kubectl tolerates and serde_yaml does not.
    text: String,
    bom: bool,
}

impl Document {
    /// Checks that `text` (read from `path`) is a kubeconfig that kubectl would accept.
    pub(crate) fn parse(path: &Path, text: String) -> Result<Self> {
        let bom = text.starts_with(BOM);
        let doc = Self {
            path: path.to_owned(),
            text: if bom {
                text[BOM.len_utf8()..].to_owned()
            } else {
                text
            },
            bom,
        };
        doc.typed()?;
        Ok(doc)
    }

    /// The current text, without a byte-order mark.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The current file contents, byte-order mark included if the file had one.
    pub(crate) fn contents(&self) -> String {
        if self.bom {
            format!("{BOM}{}", self.text)
        } else {
            self.text.clone()
        }
    }

    /// The typed view of this file.
    pub(crate) fn typed(&self) -> Result<Kubeconfig> {
        if let Root::Empty { .. } = analyze(&self.path, &self.text)? {
            return Ok(Kubeconfig::default());
        }
        serde_yaml::from_str(&self.text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            Error::Parse {
                path: self.path.clone(),
                line,
                column,
                message,
            }
        })
    }

    /// Whether `section` has an item called `name`.
    pub(crate) fn has_item(&self, section: Section, name: &str) -> Result<bool> {
        let typed = self.typed()?;
        Ok(match section {
            Section::Clusters => typed.cluster(name).is_some(),
            Section::Contexts => typed.context(name).is_some(),
            Section::Users => typed.user(name).is_some(),
        })
    }

    /// Replaces the item called `name` in `section` by `item`, or appends it.
    pub(crate) fn upsert_item<T: Serialize>(
        &mut self,
        section: Section,
        name: &str,
        item: &T,
    ) -> Result<()> {
        let root = self.block_list(section)?;
        let key = find_key(&root, section.key());
        let (range, text) = match key.map(|k| (k, &k.value)) {
            None => {
                let body = render_item(name, item, root.indent, 2, true)?;
                let text = format!("{}{}:\n{body}", " ".repeat(root.indent), section.key());
                (self.append_point(root.content_end), text)
            }
            Some((key, ValueLayout::Empty { range })) => {
                let body = render_item(name, item, root.indent, 2, true)?;
                self.fill_empty(key.after_colon, range.clone(), &body)
            }
            Some((_, ValueLayout::BlockList { items })) => {
                let existing = items.iter().find(|i| i.name.as_deref() == Some(name));
                match (existing, items.last()) {
                    (Some(old), _) => {
                        let body = render_item(name, item, old.dash_col, old.key_offset, false)?;
                        (old.dash..old.end, body)
                    }
                    (None, Some(last)) => {
                        let body = render_item(name, item, last.dash_col, last.key_offset, true)?;
                        (self.append_point(last.end), body)
                    }
                    // A block list always has an item; the layout reports empty lists as Empty.
                    (None, None) => return Err(self.edit_failed("empty block list")),
                }
            }
            Some((_, other)) => return Err(self.not_a_list(section, other)),
        };
        self.splice(range, &text);
        self.check()
    }

    /// Cuts every item called `name` from `section`; returns whether there was one.
    pub(crate) fn remove_items(&mut self, section: Section, name: &str) -> Result<bool> {
        if !self.has_item(section, name)? {
            return Ok(false);
        }
        let root = self.block_list(section)?;
        let Some(TopKey {
            after_colon,
            value: ValueLayout::BlockList { items },
            ..
        }) = find_key(&root, section.key())
        else {
            return Ok(false);
        };
        let doomed: Vec<&Item> = items
            .iter()
            .filter(|i| i.name.as_deref() == Some(name))
            .collect();
        let emptied = doomed.len() == items.len();
        for item in doomed.iter().rev() {
            self.splice(item.line_start..item.end, "");
        }
        if emptied {
            // An empty block list would read as null; say `[]` like the skeleton does.
            self.splice(*after_colon..*after_colon, " []");
        }
        self.check()?;
        Ok(true)
    }

    /// The file's current-context, if set.
    pub(crate) fn current_context(&self) -> Result<Option<String>> {
        Ok(self.typed()?.current_context().map(str::to_owned))
    }

    /// Sets current-context to `name` (`""` unsets it, as kubectl writes it).
    pub(crate) fn set_current_context(&mut self, name: &str) -> Result<()> {
        let root = self.block_root()?;
        let value = render_scalar(name)?;
        let (range, text) = match find_key(&root, "current-context").map(|k| &k.value) {
            None => {
                let line = format!("{}current-context: {value}\n", " ".repeat(root.indent));
                (self.append_point(root.content_end), line)
            }
            Some(ValueLayout::Scalar { range, .. }) => (range.clone(), value),
            Some(ValueLayout::Empty { range }) if range.is_empty() => {
                (range.clone(), format!(" {value}"))
            }
            Some(ValueLayout::Empty { range }) => (range.clone(), value),
            Some(_) => {
                return Err(self.error_at(0, "current-context must be a string"));
            }
        };
        self.splice(range, &text);
        self.check()
    }

    /// The layout, after turning an empty or flow-style document into a block one.
    fn block_root(&mut self) -> Result<BlockRoot> {
        match analyze(&self.path, &self.text)? {
            Root::Block(root) => return Ok(root),
            Root::Empty { range } => {
                let lead = if range.start > 0 && !self.text[..range.start].ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                self.splice(range, &format!("{lead}{SKELETON}"));
            }
            Root::Flow { range } => {
                let value: serde_yaml::Value = serde_yaml::from_str(&self.text[range.clone()])
                    .map_err(|e| self.error_at(0, &e.to_string()))?;
                let empty = value.as_mapping().is_some_and(|m| m.is_empty());
                let block = if empty {
                    SKELETON.to_owned()
                } else {
                    serde_yaml::to_string(&value).map_err(|e| self.error_at(0, &e.to_string()))?
                };
                self.splice(range, &block);
            }
        }
        match analyze(&self.path, &self.text)? {
            Root::Block(root) => Ok(root),
            _ => Err(self.edit_failed("the document did not become a block mapping")),
        }
    }

    /// The layout, after rewriting `section` in block style if it was a flow list.
    fn block_list(&mut self, section: Section) -> Result<BlockRoot> {
        let root = self.block_root()?;
        let Some(key) = find_key(&root, section.key()) else {
            return Ok(root);
        };
        let ValueLayout::FlowList { range } = &key.value else {
            return Ok(root);
        };
        let items: Vec<serde_yaml::Value> = serde_yaml::from_str(&self.text[range.clone()])
            .map_err(|e| self.error_at(range.start, &e.to_string()))?;
        let mut body = String::new();
        for item in &items {
            let name = item
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            body.push_str(&render_item(name, item, root.indent, 2, true)?);
        }
        let (range, text) = self.fill_empty(key.after_colon, range.clone(), &body);
        self.splice(range, &text);
        self.block_root()
    }

    /// Replaces an empty value (`null`, `[]`, nothing) after `after_colon` with block items,
    /// keeping any comment on the key's line.
    fn fill_empty(
        &self,
        after_colon: usize,
        value: Range<usize>,
        body: &str,
    ) -> (Range<usize>, String) {
        let eol = self.text[value.end..]
            .find('\n')
            .map_or(self.text.len(), |i| value.end + i + 1);
        let rest = format!(
            "{}{}",
            &self.text[after_colon..value.start],
            &self.text[value.end..eol]
        );
        let keep = match rest.trim() {
            "" => String::new(),
            comment => format!(" {comment}"),
        };
        (after_colon..eol, format!("{keep}\n{body}"))
    }

    /// Where to insert after a range ending at `end` (adding the missing final newline).
    fn append_point(&mut self, end: usize) -> Range<usize> {
        if end == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
            return self.text.len()..self.text.len();
        }
        end..end
    }

    fn splice(&mut self, range: Range<usize>, text: &str) {
        self.text.replace_range(range, text);
    }

    /// Confirms that an edit left a valid kubeconfig behind.
    fn check(&self) -> Result<()> {
        self.typed()
            .map(drop)
            .map_err(|e| self.edit_failed(&e.to_string()))
    }

    fn not_a_list(&self, section: Section, value: &ValueLayout) -> Error {
        let message = format!("{} must be a list", section.key());
        match value {
            ValueLayout::Other { line } => Error::Parse {
                path: self.path.clone(),
                line: *line,
                column: 1,
                message,
            },
            ValueLayout::Scalar { range, .. } => self.error_at(range.start, &message),
            _ => self.error_at(0, &message),
        }
    }

    fn error_at(&self, byte: usize, message: &str) -> Error {
        let before = &self.text[..byte.min(self.text.len())];
        Error::Parse {
            path: self.path.clone(),
            line: before.matches('\n').count() + 1,
            column: before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
            message: message.to_owned(),
        }
    }

    fn edit_failed(&self, message: &str) -> Error {
        Error::EditFailed {
            path: self.path.clone(),
            message: message.to_owned(),
        }
    }
}

fn find_key<'r>(root: &'r BlockRoot, name: &str) -> Option<&'r TopKey> {
    root.keys.iter().find(|k| k.name == name)
}

/// Renders `item` as one block-sequence item: `-` at `dash_col`, keys `key_offset` further in.
/// Without `indent_first`, the first line starts at the `-` (for replacing an item in place).
fn render_item<T: Serialize>(
    name: &str,
    item: &T,
    dash_col: usize,
    key_offset: usize,
    indent_first: bool,
) -> Result<String> {
    let body = serde_yaml::to_string(item).map_err(|source| Error::Render {
        name: name.to_owned(),
        source,
    })?;
    let key_offset = key_offset.max(1);
    let inner = " ".repeat(dash_col + key_offset);
    let mut out = String::with_capacity(body.len() * 2);
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            if indent_first {
                out.push_str(&" ".repeat(dash_col));
            }
            out.push('-');
            out.push_str(&" ".repeat(key_offset - 1));
        } else if !line.is_empty() {
            out.push_str(&inner);
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// A scalar as YAML text; the empty string as `""`, like kubectl.
fn render_scalar(value: &str) -> Result<String> {
    if value.is_empty() {
        return Ok("\"\"".to_owned());
    }
    serde_yaml::to_string(value)
        .map(|s| s.trim_end().to_owned())
        .map_err(|source| Error::Render {
            name: value.to_owned(),
            source,
        })
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
