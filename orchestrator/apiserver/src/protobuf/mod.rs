//! Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), which kubectl's
//! typed clients send (`kubectl create namespace|configmap|secret|deployment|...`), decoded into the
//! JSON objects the rest of the server works with.
//!
//! The wire format is upstream's: the magic `k8s\0`, then a `runtime.Unknown` whose `typeMeta`
//! names the kind and whose `raw` is the object's message. Field numbers come from the
//! `generated.proto` files of k8s.io/api and k8s.io/apimachinery, condensed into `schema.txt`.

mod wire;

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;

use wire::{Reader, WireValue};

/// The media type of Kubernetes protobuf.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    Optional,
    Repeated,
    Map,
    /// A Go embedded struct, whose fields JSON inlines into the parent.
    Inline,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    label: Label,
    ty: String,
}

type Messages = HashMap<String, HashMap<u64, Field>>;

fn schema() -> &'static Messages {
    static SCHEMA: OnceLock<Messages> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut messages = Messages::new();
        let mut current: Option<String> = None;
        for line in include_str!("schema.txt").lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix("M ") {
                current = Some(name.to_owned());
                messages.entry(name.to_owned()).or_default();
                continue;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            let (Some(message), [number, name, label, ty]) = (&current, parts.as_slice()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            let label = match *label {
                "rep" => Label::Repeated,
                "map" => Label::Map,
                "inl" => Label::Inline,
                _ => Label::Optional,
            };
            let field = Field {
                name: (*name).to_owned(),
                label,
                ty: ty.trim_start_matches('.').to_owned(),
            };
            messages
                .entry(message.clone())
                .or_default()
                .insert(number, field);
        }
        messages
    })
}

/// The message name of `kind` in `api_version` (`apps/v1` → `k8s.io.api.apps.v1.<kind>`).
fn message_for(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let package = match group {
        "" => "core",
        "meta.k8s.io" => {
            return Some(format!(
                "k8s.io.apimachinery.pkg.apis.meta.{version}.{kind}"
            ))
        }
        g => g.split('.').next().unwrap_or(g),
    };
    let name = format!("k8s.io.api.{package}.{version}.{kind}");
    if schema().contains_key(&name) {
        return Some(name);
    }
    let meta = format!("k8s.io.apimachinery.pkg.apis.meta.v1.{kind}");
    schema().contains_key(&meta).then_some(meta)
}

/// Decodes a Kubernetes protobuf body into the object's JSON form (with `apiVersion` and `kind`).
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let body = bytes
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the protobuf magic k8s\\0")?;
    let unknown = decode_message(body, "k8s.io.apimachinery.pkg.runtime.Unknown")?;
    let api_version = unknown
        .pointer("/typeMeta/apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = unknown
        .pointer("/typeMeta/kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let raw = unknown
        .get("raw")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| e.to_string())?;
    let message = message_for(&api_version, &kind)
        .ok_or_else(|| format!("no protobuf schema for {kind} in {api_version}"))?;
    let mut object = decode_message(&raw, &message)?;
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
    }
    Ok(object)
}

/// Decodes one message of type `name` into JSON, dropping unset (zero) scalars as JSON's
/// `omitempty` does.
fn decode_message(bytes: &[u8], name: &str) -> Result<Value, String> {
    let fields = schema()
        .get(name)
        .ok_or_else(|| format!("no protobuf schema for message {name}"))?;
    let mut out = Map::new();
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.next_field()? {
        let Some(field) = fields.get(&number) else {
            continue;
        };
        match field.label {
            Label::Map => {
                let WireValue::Bytes(entry) = value else {
                    return Err(format!(
                        "{name}.{}: map entry is not length-delimited",
                        field.name
                    ));
                };
                let (key, val) = decode_map_entry(entry, &field.ty)?;
                let map = out
                    .entry(field.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(map) = map.as_object_mut() {
                    map.insert(key, val);
                }
            }
            Label::Repeated => {
                let items = out
                    .entry(field.name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                let values = match (&value, is_packable(&field.ty)) {
                    (WireValue::Bytes(packed), true) => wire::unpack(packed, &field.ty)?,
                    _ => vec![value],
                };
                for v in values {
                    let converted = convert(v, &field.ty)?;
                    if let Some(items) = items.as_array_mut() {
                        items.push(converted);
                    }
                }
            }
            Label::Optional => {
                let converted = convert(value, &field.ty)?;
                out.insert(field.name.clone(), converted);
            }
            Label::Inline => {
                if let Value::Object(inner) = convert(value, &field.ty)? {
                    out.extend(inner);
                }
            }
        }
    }
    out.retain(|_, v| !is_zero(v));
    Ok(special(name, Value::Object(out)))
}

fn decode_map_entry(bytes: &[u8], value_type: &str) -> Result<(String, Value), String> {
    let mut reader = Reader::new(bytes);
    let mut key = String::new();
    let mut val = convert_default(value_type);
    while let Some((number, value)) = reader.next_field()? {
        match number {
            1 => {
                key = convert(value, "string")?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
            2 => val = convert(value, value_type)?,
            _ => {}
        }
    }
    Ok((key, val))
}

fn convert_default(ty: &str) -> Value {
    match ty {
        "string" | "bytes" => Value::String(String::new()),
        "bool" => Value::Bool(false),
        t if is_packable(t) => Value::from(0),
        _ => Value::Object(Map::new()),
    }
}

fn is_packable(ty: &str) -> bool {
    matches!(
        ty,
        "int32" | "int64" | "uint32" | "uint64" | "bool" | "double" | "float" | "sint32" | "sint64"
    )
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Converts one wire value of a scalar or message type.
fn convert(value: WireValue<'_>, ty: &str) -> Result<Value, String> {
    Ok(match (ty, value) {
        ("string", WireValue::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        ("bytes", WireValue::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        ("bool", WireValue::Varint(v)) => Value::Bool(v != 0),
        ("int32", WireValue::Varint(v)) => Value::from(v as i64 as i32),
        ("int64", WireValue::Varint(v)) => Value::from(v as i64),
        ("uint32" | "uint64", WireValue::Varint(v)) => Value::from(v),
        ("double", WireValue::Fixed64(v)) => Value::from(f64::from_bits(v)),
        ("float", WireValue::Fixed32(v)) => Value::from(f64::from(f32::from_bits(v))),
        (message, WireValue::Bytes(b)) if message.contains('.') => decode_message(b, message)?,
        (ty, _) => return Err(format!("field of type {ty} has an unexpected wire type")),
    })
}

/// The JSON form of messages that upstream serialises specially.
fn special(name: &str, value: Value) -> Value {
    let get = |k: &str| value.get(k).cloned();
    match name {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
        | "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => {
            let seconds = get("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
            let nanos = get("nanos").and_then(|v| v.as_i64()).unwrap_or(0);
            if seconds == 0 && nanos == 0 {
                return Value::Null;
            }
            time::OffsetDateTime::from_unix_timestamp(seconds)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .map_or(Value::Null, Value::String)
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
            let nanos = get("duration").and_then(|v| v.as_i64()).unwrap_or(0);
            Value::String(format!("{}s", nanos / 1_000_000_000))
        }
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            if get("type").and_then(|v| v.as_i64()) == Some(1) {
                get("strVal").unwrap_or_else(|| Value::String(String::new()))
            } else {
                get("intVal").unwrap_or_else(|| Value::from(0))
            }
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
            get("string").unwrap_or_else(|| Value::String("0".into()))
        }
        "k8s.io.apimachinery.pkg.runtime.RawExtension"
        | "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" => {
            let raw = get("raw")
                .or_else(|| get("Raw"))
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null)
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests;
