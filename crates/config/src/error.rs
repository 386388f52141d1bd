//! The error type of this crate.

use std::path::PathBuf;

use crate::validate::ValidationErrors;

/// Everything that can go wrong while reading, parsing or checking a ClusterConfig.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("read cluster config {}: {source}", path.display())]
    Read {
        /// The file that was being read.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },

    /// The text is not well-formed YAML.
    #[error("{source_name}:{line}:{column}: malformed yaml: {message}")]
    Syntax {
        /// File name (or other label) of the text.
        source_name: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the YAML parser found.
        message: String,
    },

    /// The file holds no document at all.
    #[error(
        "{source_name}: empty cluster config, expected a document with apiVersion: {api_version}"
    )]
    Empty {
        /// File name (or other label) of the text.
        source_name: String,
        /// The apiVersion the document should declare.
        api_version: &'static str,
    },

    /// The file holds more than one YAML document.
    #[error(
        "{source_name}:{line}: found {count} yaml documents, expected exactly one cluster config"
    )]
    MultipleDocuments {
        /// File name (or other label) of the text.
        source_name: String,
        /// Line where the second document starts.
        line: usize,
        /// How many documents the file holds.
        count: usize,
    },

    /// A field has the wrong shape: unknown, missing, wrong type, unsupported value.
    #[error("{source_name}:{line}:{column}: {path}: {message}")]
    Field {
        /// File name (or other label) of the text.
        source_name: String,
        /// 1-based line of the field.
        line: usize,
        /// 1-based column of the field.
        column: usize,
        /// Field path such as `nodeGroups[0].minSize`.
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// `apiVersion` or `kind` is missing or names something this version does not read.
    #[error("{source_name}:{line}: {field}: {found}, expected {expected}")]
    UnsupportedSchema {
        /// File name (or other label) of the text.
        source_name: String,
        /// 1-based line of the field (or of the document when the field is missing).
        line: usize,
        /// `apiVersion` or `kind`.
        field: &'static str,
        /// What the file says, already phrased (`unsupported value "v1"` or `missing`).
        found: String,
        /// The value this version reads.
        expected: &'static str,
    },

    /// A provider name that is not one of eks, gke, aks, local, ssh.
    #[error("unknown provider {value:?}, expected one of eks, gke, aks, local, ssh")]
    UnknownProvider {
        /// The rejected name.
        value: String,
    },

    /// A `--hosts` entry that is not `[user@]address[:port]`.
    #[error("invalid host {value:?}: {reason} (expected [user@]address[:port])")]
    InvalidHostSpec {
        /// The rejected entry.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A Kubernetes version clusterctl cannot create or upgrade to.
    #[error("invalid kubernetes version: {reason}")]
    InvalidVersion {
        /// What is wrong, naming the version and the supported range.
        reason: String,
    },

    /// The config was read but breaks one or more rules.
    #[error("invalid cluster config:\n{0}")]
    Invalid(#[from] ValidationErrors),

    /// The config could not be written as YAML.
    #[error("serialize cluster config to yaml: {0}")]
    Serialize(#[from] serde_yaml::Error),
}

/// Result with [`ConfigError`] as the default error.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
