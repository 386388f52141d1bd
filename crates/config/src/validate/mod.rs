//! Checking a config against every rule at once, so a user fixes all problems in one pass.

mod cloud;
mod cluster;
mod local;
pub(crate) mod names;
pub(crate) mod net;
mod node_groups;
mod ssh;
pub(crate) mod version;

use std::fmt;

use crate::cluster_config::ClusterConfig;
use crate::error::Result;
use crate::overrides::Overrides;
use crate::provenance::Origin;

/// One broken rule: which field, where its value came from, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The file line, flag or default the value came from.
    pub origin: Origin,
    /// Field path such as `nodeGroups[1].minSize`.
    pub path: String,
    /// What is wrong, such as `must be <= maxSize (3 > 2)`.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.path, self.message)
    }
}

/// Every rule a config breaks, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    /// The individual problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a returned error; here for completeness with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects problems as the checks find them, each placed at its origin.
pub(crate) struct Report<'c> {
    config: &'c ClusterConfig,
    errors: Vec<ValidationError>,
}

impl Report<'_> {
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        self.errors.push(ValidationError {
            origin: self.config.origin_of(&path),
            path,
            message: message.into(),
        });
    }

    /// Records a required value that is missing; placed where the provider was chosen when
    /// nothing encloses it, since that choice is what makes it required.
    pub(crate) fn missing(&mut self, path: &str, message: impl Into<String>) {
        let origin = match self.config.origin_of(path) {
            Origin::Default => self.config.origin_of("provider"),
            origin => origin,
        };
        self.errors.push(ValidationError {
            origin,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Records `check`'s complaint, if any, against `path`.
    pub(crate) fn check(&mut self, path: impl Into<String>, check: Result<(), String>) {
        if let Err(message) = check {
            self.error(path, message);
        }
    }
}

impl ClusterConfig {
    /// Checks every rule and reports every problem found, each with its field path and the
    /// file line (or flag) its value came from.
    ///
    /// Meant for the [`defaulted`](Self::defaulted) config; unset values are not checked.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut report = Report {
            config: self,
            errors: Vec::new(),
        };
        cluster::check(self, &mut report);
        node_groups::check(self, &mut report);
        cloud::check(self, &mut report);
        local::check(self, &mut report);
        ssh::check(self, &mut report);
        let mut errors = report.errors;
        // File order first, then flags and defaults; checks keep their order within a line.
        errors.sort_by_key(|e| match e.origin {
            Origin::File { line, .. } => (0, line),
            Origin::Flags => (1, 0),
            Origin::Default => (2, 0),
        });
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// Flags over the file, then defaults, then validation: the config `create` works from.
    pub fn resolve(self, overrides: &Overrides) -> Result<ClusterConfig> {
        let config = self.merged(overrides)?.defaulted();
        config.validate()?;
        Ok(config)
    }
}
