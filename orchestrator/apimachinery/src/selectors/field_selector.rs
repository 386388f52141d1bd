//! Field selectors: upstream `k8s.io/apimachinery/pkg/fields` grammar (`k=v`, `k==v`, `k!=v`,
//! comma-AND, `\` escaping of `\`, `,` and `=` in values).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{fields, Error, Result};
use crate::registry::ResourceInfo;

/// How a field term compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOperator {
    /// `k=v` or `k==v`.
    Equals,
    /// `k!=v`.
    NotEquals,
}

/// One comma-separated term: field, operator, unescaped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field label, e.g. `metadata.name`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The value, with escapes removed.
    pub value: String,
}

/// A parsed field selector: every term must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses `?fieldSelector=` text (already URL-decoded).
    pub fn parse(selector: &str) -> Result<Self> {
        let mut requirements = Vec::new();
        for term in split_unescaped(selector, ',') {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw)) = split_term(term) else {
                return Err(Error::InvalidFieldSelectorTerm {
                    selector: selector.to_owned(),
                    term: term.to_owned(),
                });
            };
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value: unescape(raw)?,
            });
        }
        Ok(Self { requirements })
    }

    /// The terms, in the order given.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The value of a `field=value` term, e.g. the name of `metadata.name=x` (lets a store
    /// answer with one lookup instead of a scan).
    pub fn exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// Checks every field label against those the resource supports, applying upstream's
    /// renames (`spec.host` → `spec.nodeName` on pods); fails with `field label not supported: x`.
    pub fn validate_for(self, group: &str, resource: &str) -> Result<Self> {
        let requirements = self
            .requirements
            .into_iter()
            .map(|r| {
                let field = fields::convert_field_label(group, resource, &r.field)?;
                Ok(FieldRequirement { field, ..r })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { requirements })
    }

    /// Like [`FieldSelector::validate_for`], also accepting a custom resource's
    /// `selectableFields`.
    pub fn validate_for_resource(self, resource: &ResourceInfo) -> Result<Self> {
        let requirements = self
            .requirements
            .into_iter()
            .map(|r| {
                Ok(FieldRequirement {
                    field: fields::convert_field_label_for(resource, &r.field)?,
                    ..r
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { requirements })
    }

    /// Like [`FieldSelector::matches_object`], including a custom resource's `selectableFields`.
    pub fn matches_resource_object(&self, resource: &ResourceInfo, object: &Value) -> bool {
        self.is_empty() || self.matches(&fields::field_set_for(resource, object))
    }

    /// Whether a field set (absent fields read as `""`, as upstream) satisfies every term.
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = fields.get(&r.field).map_or("", String::as_str);
            match r.operator {
                FieldOperator::Equals => actual == r.value,
                FieldOperator::NotEquals => actual != r.value,
            }
        })
    }

    /// Whether an object of the given resource satisfies the selector, using the resource's
    /// selectable fields ([`fields::field_set`]).
    pub fn matches_object(&self, group: &str, resource: &str, object: &Value) -> bool {
        self.is_empty() || self.matches(&fields::field_set(group, resource, object))
    }
}

impl std::fmt::Display for FieldSelector {
    /// The canonical text, values re-escaped: `metadata.name=a\,b,status.phase!=Failed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .requirements
            .iter()
            .map(|r| {
                let op = match r.operator {
                    FieldOperator::Equals => "=",
                    FieldOperator::NotEquals => "!=",
                };
                format!("{}{op}{}", r.field, escape(&r.value))
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// Escapes `\`, `,` and `=` in a value so it survives [`FieldSelector::parse`].
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits on `sep` where it is not preceded by an escaping backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Finds the first unescaped operator; at each position `!=` and `==` win over `=`.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        let rest = &term[i..];
        if c == '\\' {
            escaped = true;
        } else if rest.starts_with("!=") {
            return Some((&term[..i], FieldOperator::NotEquals, &term[i + 2..]));
        } else if rest.starts_with("==") {
            return Some((&term[..i], FieldOperator::Equals, &term[i + 2..]));
        } else if c == '=' {
            return Some((&term[..i], FieldOperator::Equals, &term[i + 1..]));
        }
    }
    None
}

/// Removes escapes from a value; a bad escape or an unescaped `,`/`=` is an error naming it.
fn unescape(raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => {
                    return Err(Error::InvalidFieldSelectorValue {
                        reason: format!("invalid escape sequence: \\{other}"),
                    })
                }
                None => {
                    return Err(Error::InvalidFieldSelectorValue {
                        reason: "invalid escape sequence: \\".to_owned(),
                    })
                }
            },
            ',' | '=' => {
                return Err(Error::InvalidFieldSelectorValue {
                    reason: format!("unescaped character in value: {c:?} in {raw:?}"),
                })
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "field_selector_tests.rs"]
mod tests;
