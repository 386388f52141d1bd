//! Label and field selectors (`?labelSelector=`, `?fieldSelector=`), parsed with upstream's grammar
//! and matched against JSON objects.
//!
//! - [`LabelSelector`]: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
//!   comma-AND; also built from a `metav1.LabelSelector` object (controllers).
//! - [`FieldSelector`]: `k=v`, `k==v`, `k!=v`, comma-AND, `\` escaping; checked against the field
//!   labels a resource supports ([`fields::supported_field_labels`]) and matched against the
//!   selectable fields extracted from an object ([`fields::field_set`]).

mod field_selector;
pub mod fields;
mod label_selector;

pub use field_selector::{FieldOperator, FieldRequirement, FieldSelector};
pub use label_selector::{LabelOperator, LabelRequirement, LabelSelector};

/// Why a selector could not be used; the API server answers these with 400 BadRequest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The label selector text does not parse.
    #[error("unable to parse label selector {selector:?}: {reason}")]
    InvalidLabelSelector {
        /// The whole selector as sent.
        selector: String,
        /// What is wrong, naming the offending part.
        reason: String,
    },
    /// A `metav1.LabelSelector` object is malformed (e.g. `In` with no values).
    #[error("invalid label selector requirement for key {key:?}: {reason}")]
    InvalidLabelSelectorObject {
        /// The key of the bad requirement.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The field selector text does not parse.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidFieldSelectorTerm {
        /// The whole selector as sent.
        selector: String,
        /// The term without an operator.
        term: String,
    },
    /// A field selector value has a bad escape or an unescaped special character.
    #[error("invalid field selector: {reason}")]
    InvalidFieldSelectorValue {
        /// The problem, quoting the offending text.
        reason: String,
    },
    /// The resource does not support selecting on this field (upstream's exact text).
    #[error("field label not supported: {0}")]
    UnsupportedFieldLabel(String),
}

/// Result of selector parsing and validation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for crate::status::StatusError {
    fn from(error: Error) -> Self {
        crate::status::StatusError::bad_request(error.to_string())
    }
}
