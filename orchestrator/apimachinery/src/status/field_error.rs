//! One validation failure on one field, rendered as upstream's `field.Error`.

use serde_json::Value;

use super::StatusCause;

/// The kind of a field validation failure (upstream `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorType {
    /// `FieldValueNotFound`: `Not found`.
    NotFound,
    /// `FieldValueRequired`: `Required value`.
    Required,
    /// `FieldValueDuplicate`: `Duplicate value`.
    Duplicate,
    /// `FieldValueInvalid`: `Invalid value`.
    Invalid,
    /// `FieldValueNotSupported`: `Unsupported value`.
    NotSupported,
    /// `FieldValueForbidden`: `Forbidden`.
    Forbidden,
    /// `FieldValueTooLong`: `Too long`.
    TooLong,
    /// `FieldValueTooMany`: `Too many`.
    TooMany,
    /// `InternalError`: `Internal error`.
    Internal,
    /// `FieldValueTypeInvalid`: `Invalid value`.
    TypeInvalid,
}

impl FieldErrorType {
    /// The cause `reason`, e.g. `FieldValueRequired`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The human text, e.g. `Required value`.
    pub fn text(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }

    /// Whether upstream omits the bad value from the message for this type.
    fn hides_value(self) -> bool {
        matches!(
            self,
            Self::Required | Self::Forbidden | Self::TooLong | Self::Internal
        )
    }
}

/// A validation failure: `spec.containers[0].image: Required value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What went wrong.
    pub kind: FieldErrorType,
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// The offending value, shown for Invalid/NotSupported/Duplicate/...; `None` leaves it out.
    pub bad_value: Option<Value>,
    /// Extra explanation appended after `: `.
    pub detail: String,
}

impl FieldError {
    /// A failure without a bad value or detail.
    pub fn new(kind: FieldErrorType, field: impl Into<String>) -> Self {
        Self {
            kind,
            field: field.into(),
            bad_value: None,
            detail: String::new(),
        }
    }

    /// `<field>: Required value[: detail]`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field).with_detail(detail)
    }

    /// `<field>: Invalid value: "<value>": <detail>`.
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Invalid, field)
            .with_value(value)
            .with_detail(detail)
    }

    /// `<field>: Unsupported value: "<value>": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| super::go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(FieldErrorType::NotSupported, field)
            .with_value(value)
            .with_detail(detail)
    }

    /// `<field>: Duplicate value: "<value>"`.
    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self::new(FieldErrorType::Duplicate, field).with_value(value)
    }

    /// `<field>: Forbidden[: detail]`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field).with_detail(detail)
    }

    /// `<field>: Too long: may not be more than <max> bytes`.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(FieldErrorType::TooLong, field)
            .with_detail(format!("may not be more than {max} bytes"))
    }

    /// Sets the offending value.
    pub fn with_value(mut self, value: Value) -> Self {
        self.bad_value = Some(value);
        self
    }

    /// Sets the explanation.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The message without the field, e.g. `Invalid value: "x": must be lowercase`.
    pub fn body(&self) -> String {
        let mut s = self.kind.text().to_owned();
        if let (false, Some(value)) = (self.kind.hides_value(), &self.bad_value) {
            s.push_str(": ");
            s.push_str(&render_value(value));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The `details.causes[]` entry for this failure.
    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            reason: self.kind.reason().to_owned(),
            message: self.body(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Renders a bad value like Go's `%q`/`%d`/`%t`: strings quoted, numbers and booleans bare.
fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => super::go_quote(s),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}
