//! One validation failure, worded as upstream's `k8s.io/apimachinery/pkg/util/validation/field.Error`.

use std::fmt;

use serde_json::Value;

/// What kind of problem a field has; each maps to a Status cause type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A required field is missing (`FieldValueRequired`, "Required value").
    Required,
    /// A value is malformed or out of range (`FieldValueInvalid`, "Invalid value").
    Invalid,
    /// A value is not one of the allowed ones (`FieldValueNotSupported`, "Unsupported value").
    NotSupported,
    /// A value repeats one that must be unique (`FieldValueDuplicate`, "Duplicate value").
    Duplicate,
    /// The field may not be set or changed (`FieldValueForbidden`, "Forbidden").
    Forbidden,
    /// A value is too long (`FieldValueTooLong`, "Too long").
    TooLong,
    /// A reference names something that does not exist (`FieldValueNotFound`, "Not found").
    NotFound,
}

impl Reason {
    /// The `reason` of the Status cause (`metav1.CauseType`).
    pub fn cause_type(self) -> &'static str {
        match self {
            Reason::Required => "FieldValueRequired",
            Reason::Invalid => "FieldValueInvalid",
            Reason::NotSupported => "FieldValueNotSupported",
            Reason::Duplicate => "FieldValueDuplicate",
            Reason::Forbidden => "FieldValueForbidden",
            Reason::TooLong => "FieldValueTooLong",
            Reason::NotFound => "FieldValueNotFound",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Reason::Required => "Required value",
            Reason::Invalid => "Invalid value",
            Reason::NotSupported => "Unsupported value",
            Reason::Duplicate => "Duplicate value",
            Reason::Forbidden => "Forbidden",
            Reason::TooLong => "Too long",
            Reason::NotFound => "Not found",
        }
    }
}

/// One validation failure: which field, what kind of problem, the offending value and a detail.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What kind of problem.
    pub reason: Reason,
    /// The field path as upstream prints it: `spec.containers[0].image`, `metadata.labels`.
    pub field: String,
    /// The offending value (not shown for Required, Forbidden and TooLong).
    pub value: Value,
    /// Upstream's explanation, possibly empty.
    pub detail: String,
}

impl FieldError {
    /// A required field is missing.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            reason: Reason::Required,
            field: field.into(),
            value: Value::Null,
            detail: detail.into(),
        }
    }

    /// A value is malformed or out of range.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            reason: Reason::Invalid,
            field: field.into(),
            value: value.into(),
            detail: detail.into(),
        }
    }

    /// A value is not one of `supported`.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        supported: &[&str],
    ) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = if supported.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        FieldError {
            reason: Reason::NotSupported,
            field: field.into(),
            value: value.into(),
            detail,
        }
    }

    /// A value that must be unique is repeated.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        FieldError {
            reason: Reason::Duplicate,
            field: field.into(),
            value: value.into(),
            detail: String::new(),
        }
    }

    /// A field may not be set or changed.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            reason: Reason::Forbidden,
            field: field.into(),
            value: Value::Null,
            detail: detail.into(),
        }
    }

    /// A value is longer than `max` bytes.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        FieldError {
            reason: Reason::TooLong,
            field: field.into(),
            value: Value::Null,
            detail: format!("must have at most {max} bytes"),
        }
    }

    /// A reference names something that does not exist.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        FieldError {
            reason: Reason::NotFound,
            field: field.into(),
            value: value.into(),
            detail: String::new(),
        }
    }

    /// The message of the Status cause (upstream's `ErrorBody`): `Invalid value: "Foo": a lowercase ...`.
    pub fn message(&self) -> String {
        let mut out = self.reason.words().to_string();
        if !matches!(
            self.reason,
            Reason::Required | Reason::Forbidden | Reason::TooLong
        ) {
            let value = match &self.value {
                Value::String(s) => format!("{s:?}"),
                Value::Null => "null".to_string(),
                other => other.to_string(),
            };
            out.push_str(&format!(": {value}"));
        }
        if !self.detail.is_empty() {
            out.push_str(&format!(": {}", self.detail));
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// The message of a 422 Invalid Status, as upstream's `errors.NewInvalid` writes it:
/// `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`,
/// or `... is invalid: [first, second]` for several errors.
pub fn invalid_message(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let mut rendered: Vec<String> = Vec::new();
    for error in errors {
        let text = error.to_string();
        if !rendered.contains(&text) {
            rendered.push(text);
        }
    }
    let body = match rendered.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    format!("{qualified} {name:?} is invalid: {body}")
}
