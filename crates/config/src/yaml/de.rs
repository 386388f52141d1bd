//! A serde `Deserializer` over a position-marked YAML tree.
//!
//! Every error leaves here knowing the field path and the line and column it is about, so a user
//! reads `cluster.yaml:7:5: nodeGroups[0].minsize: unknown field, expected one of ...`.

use std::borrow::Cow;
use std::fmt;

use saphyr::{MarkedYaml, Scalar, ScalarStyle, Tag, YamlData};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{path, Position};
use crate::error::ConfigError;

/// Deserializes `T` from `root`, naming `source_name` in any error.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(
    root: &MarkedYaml<'_>,
    source_name: &str,
) -> Result<T, ConfigError> {
    let node = NodeDeserializer {
        node: root,
        path: String::new(),
    };
    T::deserialize(node).map_err(|e| e.into_config_error(source_name))
}

/// A deserialization problem, and where it is once known.
#[derive(Debug)]
pub(crate) struct DeError {
    kind: Kind,
    at: Option<(Position, String)>,
}

#[derive(Debug)]
enum Kind {
    Message(String),
    UnknownField(&'static [&'static str]),
    MissingField(&'static str),
    UnknownVariant(String, &'static [&'static str]),
}

impl DeError {
    fn message(message: impl Into<String>) -> Self {
        DeError {
            kind: Kind::Message(message.into()),
            at: None,
        }
    }

    /// Records the innermost node the error is about; outer nodes leave it alone.
    fn located(mut self, node: &MarkedYaml<'_>, at: &str) -> Self {
        if self.at.is_none() {
            self.at = Some((Position::of(node), at.to_owned()));
        }
        self
    }

    fn into_config_error(self, source_name: &str) -> ConfigError {
        let (position, at) = self
            .at
            .unwrap_or((Position { line: 1, column: 1 }, String::new()));
        let (path, message) = match self.kind {
            Kind::Message(message) => (at, message),
            Kind::UnknownField(expected) => (at, format!("unknown field, {}", one_of(expected))),
            Kind::MissingField(field) => {
                (path::child(&at, field), "required field is missing".into())
            }
            Kind::UnknownVariant(value, expected) => (
                at,
                format!("unsupported value {value:?}, {}", one_of(expected)),
            ),
        };
        ConfigError::Field {
            source_name: source_name.to_owned(),
            line: position.line,
            column: position.column,
            path: if path.is_empty() {
                "(document)".into()
            } else {
                path
            },
            message,
        }
    }
}

fn one_of(expected: &[&str]) -> String {
    if expected.is_empty() {
        "no fields are allowed here".to_owned()
    } else {
        format!("expected one of {}", expected.join(", "))
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Message(message) => f.write_str(message),
            Kind::UnknownField(expected) => write!(f, "unknown field, {}", one_of(expected)),
            Kind::MissingField(field) => write!(f, "missing field {field}"),
            Kind::UnknownVariant(value, expected) => {
                write!(f, "unsupported value {value:?}, {}", one_of(expected))
            }
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::message(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::message(format!("expected {}, found {unexp}", friendly(exp)))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::message(format!("expected {}, found {unexp}", friendly(exp)))
    }

    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            kind: Kind::UnknownField(expected),
            at: None,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            kind: Kind::MissingField(field),
            at: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            kind: Kind::UnknownVariant(variant.to_owned(), expected),
            at: None,
        }
    }
}

/// Turns serde's Rust-flavoured expectations (`u32`, `struct NodeGroup`) into YAML words.
fn friendly(exp: &dyn de::Expected) -> String {
    let text = exp.to_string();
    match text.as_str() {
        "i8" | "i16" | "i32" | "i64" => "an integer".into(),
        "u8" | "u16" | "u32" | "u64" => "a non-negative integer".into(),
        "a boolean" | "a string" => text,
        "a sequence" => "a list".into(),
        other if other.starts_with("struct ") || other == "a map" => "a mapping".into(),
        other if other.starts_with("variant identifier") || other.starts_with("enum ") => {
            "one of the listed values".into()
        }
        _ => text,
    }
}

/// A scalar resolved per the YAML 1.2 core schema.
enum Resolved<'n> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'n str),
}

fn resolve<'n>(
    text: &'n str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Resolved<'n>, DeError> {
    if let Some(tag) = tag {
        if !tag.is_yaml_core_schema() {
            return Err(DeError::message(format!("unsupported yaml tag {tag}")));
        }
        return match tag.suffix.as_str() {
            "str" => Ok(Resolved::Str(text)),
            "null" | "bool" | "int" | "float" => resolve(text, ScalarStyle::Plain, None),
            other => Err(DeError::message(format!("unsupported yaml tag !!{other}"))),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Resolved::Str(text));
    }
    if text.is_empty() {
        return Ok(Resolved::Null);
    }
    Ok(match Scalar::parse_from_cow(Cow::Borrowed(text)) {
        Scalar::Null => Resolved::Null,
        Scalar::Boolean(b) => Resolved::Bool(b),
        Scalar::Integer(i) => Resolved::Int(i),
        Scalar::FloatingPoint(f) => Resolved::Float(f.0),
        Scalar::String(_) => Resolved::Str(text),
    })
}

/// Deserializes one node; `path` is the field path of the node.
struct NodeDeserializer<'n, 'a> {
    node: &'n MarkedYaml<'a>,
    path: String,
}

impl<'n, 'a> NodeDeserializer<'n, 'a> {
    /// The node with tags of collections peeled off.
    fn data(&self) -> Result<&'n YamlData<'a, MarkedYaml<'a>>, DeError> {
        match &self.node.data {
            YamlData::Tagged(tag, _) => {
                Err(DeError::message(format!("unsupported yaml tag {tag}")))
            }
            YamlData::BadValue | YamlData::Alias(_) => {
                Err(DeError::message("unresolvable yaml value (unknown alias?)"))
            }
            data => Ok(data),
        }
    }

    fn scalar(&self) -> Result<Option<Resolved<'n>>, DeError> {
        match self.data()? {
            YamlData::Representation(text, style, tag) => {
                resolve(text, *style, tag.as_deref()).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn locate<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|e| e.located(self.node, &self.path))
    }

    fn unexpected(&self) -> de::Unexpected<'n> {
        match self.scalar() {
            Ok(Some(Resolved::Null)) => de::Unexpected::Unit,
            Ok(Some(Resolved::Bool(b))) => de::Unexpected::Bool(b),
            Ok(Some(Resolved::Int(i))) => de::Unexpected::Signed(i),
            Ok(Some(Resolved::Float(f))) => de::Unexpected::Float(f),
            Ok(Some(Resolved::Str(s))) => de::Unexpected::Str(s),
            _ => match &self.node.data {
                YamlData::Sequence(_) => de::Unexpected::Seq,
                YamlData::Mapping(_) => de::Unexpected::Map,
                _ => de::Unexpected::Other("an unsupported value"),
            },
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.data()? {
            YamlData::Sequence(_) => self.seq(visitor),
            YamlData::Mapping(_) => self.map(visitor),
            _ => match self.scalar()? {
                Some(Resolved::Null) | None => visitor.visit_unit(),
                Some(Resolved::Bool(b)) => visitor.visit_bool(b),
                Some(Resolved::Int(i)) => visitor.visit_i64(i),
                Some(Resolved::Float(f)) => visitor.visit_f64(f),
                Some(Resolved::Str(s)) => visitor.visit_str(s),
            },
        }
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.data()? {
            YamlData::Sequence(items) => visitor.visit_seq(SeqAccess {
                items: items.iter().enumerate(),
                path: &self.path,
            }),
            _ if matches!(self.scalar()?, Some(Resolved::Null)) => visitor.visit_seq(SeqAccess {
                items: [].iter().enumerate(),
                path: &self.path,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.data()? {
            YamlData::Mapping(map) => visitor.visit_map(MapAccess {
                entries: map.iter().collect::<Vec<_>>().into_iter(),
                value: None,
                path: &self.path,
            }),
            _ if matches!(self.scalar()?, Some(Resolved::Null)) => visitor.visit_map(MapAccess {
                entries: Vec::new().into_iter(),
                value: None,
                path: &self.path,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = (self.node, self.path.clone());
        self.any(visitor).map_err(|e| e.located(node.0, &node.1))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Ok(Some(Resolved::Bool(b))) => visitor.visit_bool(b),
            Err(e) => Err(e),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.locate(result)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Ok(Some(Resolved::Int(i))) => visitor.visit_i64(i),
            Err(e) => Err(e),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.locate(result)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Ok(Some(Resolved::Int(i))) => visitor.visit_i64(i),
            Ok(Some(Resolved::Float(f))) => visitor.visit_f64(f),
            Err(e) => Err(e),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.locate(result)
    }

    /// Any non-null scalar reads as a string, exactly as written (`1.30` stays `1.30`).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.data() {
            Ok(YamlData::Representation(text, ..))
                if !matches!(self.scalar(), Ok(Some(Resolved::Null))) =>
            {
                self.scalar().and_then(|_| visitor.visit_str(text))
            }
            Err(e) => Err(e),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.locate(result)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Ok(Some(Resolved::Null)) => visitor.visit_none(),
            Err(e) => self.locate(Err(e)),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Ok(Some(Resolved::Null)) => visitor.visit_unit(),
            Err(e) => Err(e),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.locate(result)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = (self.node, self.path.clone());
        self.seq(visitor).map_err(|e| e.located(node.0, &node.1))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = (self.node, self.path.clone());
        self.map(visitor).map_err(|e| e.located(node.0, &node.1))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Ok(Some(Resolved::Str(s))) => {
                visitor.visit_enum(IntoDeserializer::<DeError>::into_deserializer(s))
            }
            Err(e) => Err(e),
            _ => Err(DeError::message(format!(
                "expected one of the listed values, found {}",
                self.unexpected()
            ))),
        };
        self.locate(result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit_struct tuple tuple_struct
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }
}

struct SeqAccess<'n, 'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'n, MarkedYaml<'a>>>,
    path: &'p str,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = path::item(self.path, index);
        let value = seed.deserialize(NodeDeserializer {
            node,
            path: path.clone(),
        });
        value.map(Some).map_err(|e| e.located(node, &path))
    }
}

type Entry<'n, 'a> = (&'n MarkedYaml<'a>, &'n MarkedYaml<'a>);

struct MapAccess<'n, 'a, 'p> {
    entries: std::vec::IntoIter<Entry<'n, 'a>>,
    value: Option<(&'n MarkedYaml<'a>, String)>,
    path: &'p str,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let Some(name) = super::scalar_text(key) else {
            return Err(
                DeError::message("mapping keys must be plain strings").located(key, self.path)
            );
        };
        let path = path::child(self.path, name);
        self.value = Some((value, path.clone()));
        seed.deserialize(NodeDeserializer {
            node: key,
            path: path.clone(),
        })
        .map(Some)
        .map_err(|e| e.located(key, &path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((node, path)) = self.value.take() else {
            return Err(DeError::message("mapping value requested before its key"));
        };
        seed.deserialize(NodeDeserializer {
            node,
            path: path.clone(),
        })
        .map_err(|e| e.located(node, &path))
    }
}
