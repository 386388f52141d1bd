//! Where things are in a kubeconfig's text: byte ranges of the top-level keys and of each list
//! item, found with saphyr's span-annotated parse. Edits splice these ranges and leave every
//! other byte alone.

use std::ops::Range;
use std::path::Path;

use saphyr::{LoadableYamlNode as _, MarkedYaml, Scalar, YamlData};

use crate::error::{Error, Result};

/// The shape of a whole document.
#[derive(Debug)]
pub(crate) enum Root {
    /// No content (missing file, empty file, comments only, a lone `---` or `null`): `range` is
    /// what to replace with a fresh document.
    Empty { range: Range<usize> },
    /// The document is a flow mapping (`{...}`) spanning `range`, which is rewritten structurally.
    Flow { range: Range<usize> },
    /// The usual case: a block mapping of top-level keys.
    Block(BlockRoot),
}

/// A block-mapping document.
#[derive(Debug)]
pub(crate) struct BlockRoot {
    /// Column of the top-level keys (0 in every kubeconfig seen in the wild).
    pub indent: usize,
    /// Byte just past the line holding the document's last content.
    pub content_end: usize,
    /// The top-level keys, in file order.
    pub keys: Vec<TopKey>,
}

/// One top-level `key: value`.
#[derive(Debug)]
pub(crate) struct TopKey {
    /// The key text, e.g. `clusters`.
    pub name: String,
    /// Byte index just past the `:` after the key.
    pub after_colon: usize,
    /// The value.
    pub value: ValueLayout,
}

/// The value of a top-level key.
#[derive(Debug)]
pub(crate) enum ValueLayout {
    /// `null`, `~`, nothing, or `[]`: `range` is the text to drop (empty for nothing).
    Empty { range: Range<usize> },
    /// A block sequence: its items.
    BlockList { items: Vec<Item> },
    /// A non-empty flow sequence `[...]`: its full range, brackets included.
    FlowList { range: Range<usize> },
    /// A scalar such as the current-context string.
    Scalar { range: Range<usize> },
    /// Anything else (a mapping, an alias); `line` is 1-based.
    Other { line: usize },
}

/// One item of a block sequence.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The item's `name:` field, when it is a mapping that has one.
    pub name: Option<String>,
    /// Byte index of the item's `-`.
    pub dash: usize,
    /// Byte index of the start of the line holding the `-`.
    pub line_start: usize,
    /// Byte just past the line holding the item's last content.
    pub end: usize,
    /// Column of the `-`.
    pub dash_col: usize,
    /// Distance from the `-` to the item's first key (2 for `- name:`).
    pub key_offset: usize,
}

/// Parses `text` (the contents of `path`) and locates its top-level keys and list items.
pub(crate) fn analyze(path: &Path, text: &str) -> Result<Root> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    })?;
    if docs.len() > 1 {
        return Err(Error::MultipleDocuments {
            path: path.to_owned(),
            count: docs.len(),
        });
    }
    let Some(root) = docs.first() else {
        return Ok(Root::Empty {
            range: text.len()..text.len(),
        });
    };
    let src = Source::new(text);
    match &root.data {
        YamlData::Value(Scalar::Null) => Ok(Root::Empty {
            range: src.range(root),
        }),
        YamlData::Mapping(_) if src.is_flow(root) => {
            let start = src.line_start(src.byte(root.span.start.index()));
            Ok(Root::Flow {
                range: start..src.line_end(src.content_end(root)),
            })
        }
        YamlData::Mapping(map) => {
            let mut keys = Vec::with_capacity(map.len());
            for (key, value) in map.iter() {
                let Some(name) = src.scalar_text(key) else {
                    continue;
                };
                let after_colon = src.after_colon(src.byte(key.span.end.index()));
                let value = src.value_layout(path, value, after_colon)?;
                keys.push(TopKey {
                    name,
                    after_colon,
                    value,
                });
            }
            Ok(Root::Block(BlockRoot {
                indent: root.span.start.col(),
                content_end: src.line_end(src.content_end(root)),
                keys,
            }))
        }
        _ => Err(Error::Parse {
            path: path.to_owned(),
            line: root.span.start.line(),
            column: root.span.start.col() + 1,
            message: "a kubeconfig must be a mapping of apiVersion, clusters, contexts, users..."
                .to_owned(),
        }),
    }
}

/// The text with a char-index to byte-index table (saphyr markers count chars).
struct Source<'t> {
    text: &'t str,
    bytes: Vec<usize>,
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Self {
        let bytes = text
            .char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .collect();
        Self { text, bytes }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.bytes
            .get(char_index)
            .copied()
            .unwrap_or(self.text.len())
    }

    fn at(&self, byte: usize) -> Option<u8> {
        self.text.as_bytes().get(byte).copied()
    }

    fn range(&self, node: &MarkedYaml) -> Range<usize> {
        self.byte(node.span.start.index())..self.byte(node.span.end.index())
    }

    /// Whether a collection node is written in flow style (`{...}` or `[...]`), looking past
    /// any tag (`!!seq`) or anchor (`&a`) in front of it.
    fn is_flow(&self, node: &MarkedYaml) -> bool {
        let mut rest = self.text[self.byte(node.span.start.index())..].trim_start();
        while rest.starts_with(['!', '&']) {
            let property = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = rest[property..].trim_start();
        }
        rest.starts_with(['{', '['])
    }

    fn line_start(&self, byte: usize) -> usize {
        self.text[..byte].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Byte just past the newline ending the line that holds `byte` (or the end of the text).
    fn line_end(&self, byte: usize) -> usize {
        self.text[byte..]
            .find('\n')
            .map_or(self.text.len(), |i| byte + i + 1)
    }

    /// Byte just past the `:` that follows a key ending at `key_end`.
    fn after_colon(&self, key_end: usize) -> usize {
        self.text[key_end..]
            .find(':')
            .map_or(key_end, |i| key_end + i + 1)
    }

    /// The string a scalar node stands for; plain non-strings (`123`, `true`) as written.
    fn scalar_text(&self, node: &MarkedYaml) -> Option<String> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            YamlData::Value(_) | YamlData::Representation(..) => {
                Some(self.text[self.range(node)].to_owned())
            }
            YamlData::Tagged(_, inner) => self.scalar_text(inner),
            _ => None,
        }
    }

    /// Byte just past the last character that belongs to `node` (comments excluded). Block
    /// collection spans run on to the next token, so only leaves and flow brackets count.
    fn content_end(&self, node: &MarkedYaml) -> usize {
        let Range { start, end } = self.range(node);
        match &node.data {
            YamlData::Mapping(map) => {
                let children = map
                    .iter()
                    .map(|(k, v)| self.content_end(k).max(self.content_end(v)));
                let last = children.max().unwrap_or(start);
                if self.is_flow(node) && matches!(self.at(end), Some(b'}')) {
                    last.max(end + 1)
                } else {
                    last
                }
            }
            YamlData::Sequence(items) => {
                let last = items
                    .iter()
                    .map(|i| self.content_end(i))
                    .max()
                    .unwrap_or(start);
                if self.is_flow(node) && matches!(self.at(end), Some(b']')) {
                    last.max(end + 1)
                } else {
                    last
                }
            }
            YamlData::Tagged(_, inner) => self.content_end(inner),
            _ => {
                // Block scalars (`|`) end at the next token: step back over trailing blanks.
                let trimmed = self.text[start..end].trim_end().len();
                start + trimmed
            }
        }
    }

    fn value_layout(
        &self,
        path: &Path,
        node: &MarkedYaml,
        after_colon: usize,
    ) -> Result<ValueLayout> {
        let range = self.range(node);
        let layout = match &node.data {
            YamlData::Value(Scalar::Null) => ValueLayout::Empty {
                range: if range.is_empty() || range.start < after_colon {
                    after_colon..after_colon
                } else {
                    range
                },
            },
            YamlData::Sequence(items) if items.is_empty() || self.is_flow(node) => {
                let full = range.start..self.content_end(node);
                if items.is_empty() {
                    ValueLayout::Empty { range: full }
                } else {
                    ValueLayout::FlowList { range: full }
                }
            }
            YamlData::Sequence(items) => {
                let mut found = Vec::with_capacity(items.len());
                for item in items {
                    found.push(self.item(path, item, after_colon)?);
                }
                ValueLayout::BlockList { items: found }
            }
            YamlData::Value(_) | YamlData::Representation(..) => ValueLayout::Scalar { range },
            _ => ValueLayout::Other {
                line: node.span.start.line(),
            },
        };
        Ok(layout)
    }

    fn item(&self, path: &Path, node: &MarkedYaml, floor: usize) -> Result<Item> {
        let start = self.byte(node.span.start.index());
        let dash = (floor..start.min(self.text.len()))
            .rev()
            .find(|&i| self.is_item_dash(i))
            .ok_or_else(|| Error::Parse {
                path: path.to_owned(),
                line: node.span.start.line(),
                column: node.span.start.col() + 1,
                message: "cannot find the `-` of this list item".to_owned(),
            })?;
        let line_start = self.line_start(dash);
        let key_offset = if self.text[dash..start].contains('\n') {
            2
        } else {
            start - dash
        };
        let name = match &node.data {
            YamlData::Mapping(map) => map
                .iter()
                .find(|(k, _)| self.scalar_text(k).as_deref() == Some("name"))
                .and_then(|(_, v)| self.scalar_text(v)),
            _ => None,
        };
        Ok(Item {
            name,
            dash,
            line_start,
            end: self.line_end(self.content_end(node).max(dash + 1)),
            dash_col: dash - line_start,
            key_offset,
        })
    }

    /// A `-` followed by a blank, with only spaces before it on its line.
    fn is_item_dash(&self, i: usize) -> bool {
        self.at(i) == Some(b'-')
            && matches!(self.at(i + 1), Some(b' ' | b'\n' | b'\r') | None)
            && self.text[self.line_start(i)..i].bytes().all(|b| b == b' ')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> BlockRoot {
        match analyze(Path::new("test"), text).unwrap() {
            Root::Block(b) => b,
            other => panic!("expected a block root, got {other:?}"),
        }
    }

    fn items<'a>(root: &'a BlockRoot, key: &str) -> &'a [Item] {
        match &root.keys.iter().find(|k| k.name == key).unwrap().value {
            ValueLayout::BlockList { items } => items,
            other => panic!("expected a block list, got {other:?}"),
        }
    }

    #[test]
    fn item_ranges_cover_whole_lines_but_not_comments_between_items() {
        let text = "clusters:\n- cluster:\n    server: https://a # note\n  name: a\n# about b\n- name: b\n  cluster: {server: x}\nkind: Config\n";
        let root = block(text);
        let found = items(&root, "clusters");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name.as_deref(), Some("a"));
        assert_eq!(
            &text[found[0].line_start..found[0].end],
            "- cluster:\n    server: https://a # note\n  name: a\n"
        );
        assert_eq!(
            &text[found[1].line_start..found[1].end],
            "- name: b\n  cluster: {server: x}\n"
        );
    }

    #[test]
    fn indented_items_report_their_style() {
        let text = "users:\n    -   name: u\n        user: {}\n";
        let found = items(&block(text), "users").to_vec();
        assert_eq!((found[0].dash_col, found[0].key_offset), (4, 4));
    }

    #[test]
    fn empty_values_and_flow_lists_are_told_apart() {
        let text = "clusters: null\ncontexts:\nusers: []\nextra: [a, b]\n";
        let root = block(text);
        let kinds: Vec<String> = root
            .keys
            .iter()
            .map(|k| match &k.value {
                ValueLayout::Empty { range } => format!("empty {:?}", &text[range.clone()]),
                ValueLayout::FlowList { range } => format!("flow {:?}", &text[range.clone()]),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                r#"empty "null""#,
                r#"empty """#,
                r#"empty "[]""#,
                r#"flow "[a, b]""#
            ]
        );
    }

    #[test]
    fn comments_only_and_empty_files_have_an_empty_root() {
        for text in ["", "# just a comment\n", "---\n"] {
            assert!(
                matches!(analyze(Path::new("t"), text).unwrap(), Root::Empty { .. }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = analyze(Path::new("/k/config"), "clusters:\n- name: a\n  bad: [x\n").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("/k/config") && message.contains("line 4"),
            "{message}"
        );
    }

    #[test]
    fn multibyte_text_keeps_byte_ranges_right() {
        let text = "# é\nusers:\n- name: ü\n  user: {token: ß}\n";
        let found = items(&block(text), "users").to_vec();
        assert_eq!(
            &text[found[0].line_start..found[0].end],
            "- name: ü\n  user: {token: ß}\n"
        );
    }
}
