//! Helpers shared by the integration tests.
#![allow(dead_code)]

use clusterctl_config::{ClusterConfig, ConfigError, ValidationErrors};

/// Parses `body` after the apiVersion/kind header, as if read from `cluster.yaml`.
pub fn parse(body: &str) -> Result<ClusterConfig, ConfigError> {
    ClusterConfig::from_yaml_str(&with_header(body), "cluster.yaml")
}

/// `body` after the two header lines, so line numbers in tests are body line + 2.
pub fn with_header(body: &str) -> String {
    format!("apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\n{body}")
}

/// The parse error of `body`, as the user reads it.
pub fn parse_error(body: &str) -> String {
    match parse(body) {
        Ok(config) => panic!("expected a parse error, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// Parses, defaults and validates `body`, returning the validation errors.
pub fn validation_errors(body: &str) -> ValidationErrors {
    let config = parse(body).unwrap_or_else(|e| panic!("parse failed: {e}"));
    match config.defaulted().validate() {
        Ok(()) => panic!("expected validation errors for:\n{body}"),
        Err(errors) => errors,
    }
}

/// The validation errors of `body`, one display line each.
pub fn validation_lines(body: &str) -> Vec<String> {
    validation_errors(body)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Parses, defaults and validates `body`, which must be valid.
pub fn valid(body: &str) -> ClusterConfig {
    let config = parse(body)
        .unwrap_or_else(|e| panic!("parse failed: {e}"))
        .defaulted();
    if let Err(errors) = config.validate() {
        panic!("expected a valid config, got:\n{errors}");
    }
    config
}
