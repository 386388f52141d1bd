//! Label selectors: upstream `k8s.io/apimachinery/pkg/labels` grammar and matching.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::Value;

use super::{Error, Result};

/// How a label requirement compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOperator {
    /// `key=value` or `key==value`: the label exists and equals.
    Equals,
    /// `key!=value`: the label is absent or differs.
    NotEquals,
    /// `key in (a,b)`: the label exists and is one of.
    In,
    /// `key notin (a,b)`: the label is absent or none of.
    NotIn,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is an integer greater than n.
    GreaterThan,
    /// `key<n`: the label is an integer less than n.
    LessThan,
}

/// One comma-separated term of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// The comparison.
    pub operator: LabelOperator,
    /// The values compared with (empty for Exists/DoesNotExist).
    pub values: Vec<String>,
}

impl LabelRequirement {
    /// Whether a label map (looked up through `get`) satisfies this term.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = get(&self.key);
        let listed = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            LabelOperator::Equals | LabelOperator::In => value.is_some_and(listed),
            LabelOperator::NotEquals | LabelOperator::NotIn => !value.is_some_and(listed),
            LabelOperator::Exists => value.is_some(),
            LabelOperator::DoesNotExist => value.is_none(),
            LabelOperator::GreaterThan | LabelOperator::LessThan => {
                let (Some(actual), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == LabelOperator::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

/// A parsed label selector: all requirements must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses `?labelSelector=` text (already URL-decoded).
    pub fn parse(selector: &str) -> Result<Self> {
        let fail = |reason: String| Error::InvalidLabelSelector {
            selector: selector.to_owned(),
            reason,
        };
        let tokens = lex(selector);
        let requirements = Parser { tokens, pos: 0 }.parse().map_err(fail)?;
        Ok(Self { requirements })
    }

    /// Builds the selector a `metav1.LabelSelector` (matchLabels + matchExpressions) describes;
    /// as upstream, an absent selector object should be treated by the caller as "nothing".
    pub fn from_label_selector(selector: &metav1::LabelSelector) -> Result<Self> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(
                requirement(key, LabelOperator::Equals, vec![value.clone()]).map_err(|reason| {
                    Error::InvalidLabelSelectorObject {
                        key: key.clone(),
                        reason,
                    }
                })?,
            );
        }
        for expr in selector.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => LabelOperator::In,
                "NotIn" => LabelOperator::NotIn,
                "Exists" => LabelOperator::Exists,
                "DoesNotExist" => LabelOperator::DoesNotExist,
                other => {
                    return Err(Error::InvalidLabelSelectorObject {
                        key: expr.key.clone(),
                        reason: format!("{other:?} is not a valid label selector operator"),
                    })
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            requirements.push(requirement(&expr.key, operator, values).map_err(|reason| {
                Error::InvalidLabelSelectorObject {
                    key: expr.key.clone(),
                    reason,
                }
            })?);
        }
        Ok(Self { requirements })
    }

    /// Parses a `metav1.LabelSelector` given as JSON (e.g. `spec.selector` of a Deployment).
    pub fn from_label_selector_value(selector: &Value) -> Result<Self> {
        let typed: metav1::LabelSelector =
            serde_json::from_value(selector.clone()).map_err(|e| {
                Error::InvalidLabelSelectorObject {
                    key: String::new(),
                    reason: e.to_string(),
                }
            })?;
        Self::from_label_selector(&typed)
    }

    /// Builds the selector `k1=v1,k2=v2` of a plain map (e.g. a Service's `spec.selector`).
    pub fn from_map<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let requirements = labels
            .into_iter()
            .map(|(k, v)| LabelRequirement {
                key: k.clone(),
                operator: LabelOperator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        Self { requirements }
    }

    /// The requirements, in the order given.
    pub fn requirements(&self) -> &[LabelRequirement] {
        &self.requirements
    }

    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether labels looked up through `get` satisfy every requirement.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str> + Copy) -> bool {
        self.requirements.iter().all(|r| r.matches(get))
    }

    /// Whether a label map satisfies the selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }

    /// Whether an object's `metadata.labels` satisfy the selector (missing labels = no labels).
    pub fn matches_object(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        self.matches_with(|k| labels.and_then(|m| m.get(k)).and_then(Value::as_str))
    }
}

impl std::fmt::Display for LabelSelector {
    /// The canonical text form, terms sorted by key and set values sorted, as upstream's
    /// `Selector.String()`: `!canary,app=web,tier in (a,b)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sorted = self.requirements.clone();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        let terms: Vec<String> = sorted
            .into_iter()
            .map(|mut r| {
                r.values.sort();
                r
            })
            .map(|r| match r.operator {
                LabelOperator::Equals => format!("{}={}", r.key, r.values.join(",")),
                LabelOperator::NotEquals => format!("{}!={}", r.key, r.values.join(",")),
                LabelOperator::In => format!("{} in ({})", r.key, r.values.join(",")),
                LabelOperator::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                LabelOperator::Exists => r.key.clone(),
                LabelOperator::DoesNotExist => format!("!{}", r.key),
                LabelOperator::GreaterThan => format!("{}>{}", r.key, r.values.join(",")),
                LabelOperator::LessThan => format!("{}<{}", r.key, r.values.join(",")),
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// Validates and builds one requirement, as upstream's `NewRequirement`.
fn requirement(
    key: &str,
    operator: LabelOperator,
    values: Vec<String>,
) -> Result<LabelRequirement, String> {
    validate_key(key)?;
    match operator {
        LabelOperator::In | LabelOperator::NotIn if values.is_empty() => {
            return Err("for 'in', 'notin' operators, values set can't be empty".to_owned())
        }
        LabelOperator::Equals | LabelOperator::NotEquals if values.len() != 1 => {
            return Err("exact-match compatibility requires one single value".to_owned())
        }
        LabelOperator::Exists | LabelOperator::DoesNotExist if !values.is_empty() => {
            return Err("values set must be empty for exists and does not exist".to_owned())
        }
        LabelOperator::GreaterThan | LabelOperator::LessThan
            if values.len() != 1 || values[0].parse::<i64>().is_err() =>
        {
            return Err(format!(
                "for 'Gt', 'Lt' operators, the value must be a single integer: {values:?}"
            ))
        }
        _ => {}
    }
    if !matches!(
        operator,
        LabelOperator::GreaterThan | LabelOperator::LessThan
    ) {
        for v in &values {
            validate_value(v)?;
        }
    }
    Ok(LabelRequirement {
        key: key.to_owned(),
        operator,
        values,
    })
}

/// `[prefix/]name`: prefix a DNS subdomain (≤253), name ≤63 alphanumerics with `-_.` inside.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !ok {
            return Err(format!(
                "invalid label key {key:?}: prefix part must be a lowercase RFC 1123 subdomain"
            ));
        }
    }
    if name.is_empty() || !is_label_name(name) {
        return Err(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {value:?}: must be 63 characters or less and consist of alphanumeric characters, \
             '-', '_' or '.', starting and ending with an alphanumeric character"
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    Greater,
    Less,
    In,
    NotIn,
    Open,
    Close,
    Comma,
}

fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '!' if next == Some('=') => (Token::NotEquals, 2),
            '!' => (Token::Not, 1),
            '=' if next == Some('=') => (Token::DoubleEquals, 2),
            '=' => (Token::Equals, 1),
            '>' => (Token::Greater, 1),
            '<' => (Token::Less, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"!=<>(),".contains(chars[i])
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                });
                continue;
            }
        };
        tokens.push(token);
        i += len;
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn parse(mut self) -> Result<Vec<LabelRequirement>, String> {
        let mut requirements = Vec::new();
        if self.tokens.is_empty() {
            return Ok(requirements);
        }
        loop {
            requirements.push(self.requirement()?);
            match self.next() {
                None => return Ok(requirements),
                Some(Token::Comma) if self.peek().is_some() => {}
                Some(Token::Comma) => {
                    return Err("found ',', expected: identifier after ','".to_owned())
                }
                Some(t) => {
                    return Err(format!(
                        "found {}, expected: ',' or 'end of string'",
                        describe(&t)
                    ))
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelRequirement, String> {
        let negated = self.peek() == Some(&Token::Not);
        if negated {
            self.pos += 1;
        }
        let key = match self.next() {
            Some(Token::Ident(key)) => key,
            Some(t) => {
                return Err(format!(
                    "found {}, expected: !, identifier, or 'end of string'",
                    describe(&t)
                ))
            }
            None => return Err("found 'end of string', expected: identifier".to_owned()),
        };
        if negated {
            return requirement(&key, LabelOperator::DoesNotExist, Vec::new());
        }
        let operator = match self.peek() {
            None | Some(Token::Comma) => {
                return requirement(&key, LabelOperator::Exists, Vec::new())
            }
            Some(Token::Equals | Token::DoubleEquals) => LabelOperator::Equals,
            Some(Token::NotEquals) => LabelOperator::NotEquals,
            Some(Token::In) => LabelOperator::In,
            Some(Token::NotIn) => LabelOperator::NotIn,
            Some(Token::Greater) => LabelOperator::GreaterThan,
            Some(Token::Less) => LabelOperator::LessThan,
            Some(t) => {
                return Err(format!(
                    "found {}, expected: in, notin, =, ==, !=, gt, lt after key {key:?}",
                    describe(t)
                ))
            }
        };
        self.pos += 1;
        let values = if matches!(operator, LabelOperator::In | LabelOperator::NotIn) {
            self.value_set(&key)?
        } else {
            vec![self.single_value()]
        };
        requirement(&key, operator, values)
    }

    /// A single value; nothing (`a=`) means the empty value.
    fn single_value(&mut self) -> String {
        match self.peek() {
            Some(Token::Ident(v)) => {
                let v = v.clone();
                self.pos += 1;
                v
            }
            Some(Token::In) => {
                self.pos += 1;
                "in".to_owned()
            }
            Some(Token::NotIn) => {
                self.pos += 1;
                "notin".to_owned()
            }
            _ => String::new(),
        }
    }

    /// `( v1, v2 )`; an empty slot (`(a,)`) is the empty value, as upstream.
    fn value_set(&mut self, key: &str) -> Result<Vec<String>, String> {
        if self.next() != Some(Token::Open) {
            return Err(format!("found no '(' after 'in'/'notin' for key {key:?}"));
        }
        let mut values = Vec::new();
        loop {
            let value = self.single_value();
            match self.next() {
                Some(Token::Comma) => values.push(value),
                Some(Token::Close) => {
                    if !(value.is_empty() && values.is_empty()) {
                        values.push(value);
                    }
                    return Ok(values);
                }
                Some(t) => {
                    return Err(format!(
                        "found {}, expected: ',' or ')' in values of {key:?}",
                        describe(&t)
                    ))
                }
                None => {
                    return Err(format!(
                        "found 'end of string', expected: ')' in values of {key:?}"
                    ))
                }
            }
        }
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(s) => format!("'{s}'"),
        Token::Not => "'!'".to_owned(),
        Token::Equals => "'='".to_owned(),
        Token::DoubleEquals => "'=='".to_owned(),
        Token::NotEquals => "'!='".to_owned(),
        Token::Greater => "'>'".to_owned(),
        Token::Less => "'<'".to_owned(),
        Token::In => "'in'".to_owned(),
        Token::NotIn => "'notin'".to_owned(),
        Token::Open => "'('".to_owned(),
        Token::Close => "')'".to_owned(),
        Token::Comma => "','".to_owned(),
    }
}

#[cfg(test)]
#[path = "label_selector_tests.rs"]
mod tests;
