//! Reading YAML text into a tree that remembers where every node came from.
//!
//! `saphyr` gives each node its line and column; [`de`] deserializes our types from that tree so
//! every error can name the field path and its position.

pub(crate) mod de;
pub(crate) mod path;

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYaml, YamlData, YamlLoader};

use crate::error::{ConfigError, Result};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Position {
    pub(crate) fn of(node: &MarkedYaml<'_>) -> Position {
        Position {
            line: node.span.start.line(),
            column: node.span.start.col() + 1,
        }
    }
}

/// Parses `text` into exactly one document tree, with scalars left as written.
pub(crate) fn load_single_document<'a>(text: &'a str, source_name: &str) -> Result<MarkedYaml<'a>> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<'a, MarkedYaml<'a>> = YamlLoader::default();
    // Keep scalars as written, so `kubernetesVersion: 1.30` stays "1.30" and is not read as 1.3.
    loader.early_parse(false);
    let scanned = parser.load(&mut loader, true);
    let error = scanned.err().or_else(|| loader.error().cloned());
    if let Some(error) = error {
        return Err(ConfigError::Syntax {
            source_name: source_name.to_owned(),
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info().to_owned(),
        });
    }
    let mut documents: Vec<MarkedYaml<'a>> = loader
        .into_documents()
        .into_iter()
        .filter(|doc| !is_null(doc))
        .collect();
    match documents.len() {
        0 => Err(ConfigError::Empty {
            source_name: source_name.to_owned(),
            api_version: crate::API_VERSION,
        }),
        1 => Ok(documents.remove(0)),
        count => Err(ConfigError::MultipleDocuments {
            source_name: source_name.to_owned(),
            line: documents[1].span.start.line(),
            count,
        }),
    }
}

/// Whether the node is an empty document or an explicit null.
pub(crate) fn is_null(node: &MarkedYaml<'_>) -> bool {
    match &node.data {
        YamlData::BadValue => true,
        YamlData::Representation(text, saphyr::ScalarStyle::Plain, None) => {
            matches!(&**text, "" | "~" | "null" | "Null" | "NULL")
        }
        _ => node.is_badvalue(),
    }
}

/// The text of a scalar node, as written.
pub(crate) fn scalar_text<'n>(node: &'n MarkedYaml<'_>) -> Option<&'n str> {
    match &node.data {
        YamlData::Representation(text, _, _) => Some(text),
        _ => None,
    }
}

/// The key and value nodes of `key` in a mapping node.
pub(crate) fn entry<'n, 'a>(
    node: &'n MarkedYaml<'a>,
    key: &str,
) -> Option<(&'n MarkedYaml<'a>, &'n MarkedYaml<'a>)> {
    match &node.data {
        YamlData::Mapping(map) => map.iter().find(|(k, _)| scalar_text(k) == Some(key)),
        _ => None,
    }
}

/// The position of every field and list item in the document, by field path.
///
/// A mapping entry is placed at its key, a list item at its first character.
pub(crate) fn positions(root: &MarkedYaml<'_>) -> HashMap<String, Position> {
    let mut out = HashMap::new();
    collect_positions(root, "", &mut out);
    out
}

fn collect_positions(node: &MarkedYaml<'_>, at: &str, out: &mut HashMap<String, Position>) {
    match &node.data {
        YamlData::Mapping(map) => {
            for (key, value) in map {
                let Some(name) = scalar_text(key) else {
                    continue;
                };
                let here = path::child(at, name);
                out.insert(here.clone(), Position::of(key));
                collect_positions(value, &here, out);
            }
        }
        YamlData::Sequence(items) => {
            for (index, value) in items.iter().enumerate() {
                let here = path::item(at, index);
                out.insert(here.clone(), Position::of(value));
                collect_positions(value, &here, out);
            }
        }
        YamlData::Tagged(_, inner) => collect_positions(inner, at, out),
        _ => {}
    }
}
