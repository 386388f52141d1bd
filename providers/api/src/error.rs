//! The provider error: what failed, on which resource or host, and what to do next.

use clusterctl_config::Provider as ProviderKind;
use std::fmt;

/// Errors every provider can return.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider (or this operation of it) is not built yet.
    #[error("the {provider} provider cannot {operation} yet: {detail}")]
    NotBuilt {
        /// Which provider.
        provider: ProviderKind,
        /// What was asked, e.g. "create clusters".
        operation: String,
        /// What is missing and where it is tracked.
        detail: String,
    },
    /// The named cluster, node group or node does not exist.
    #[error("{what} {name:?} not found{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    NotFound {
        /// Kind of thing, e.g. "cluster".
        what: &'static str,
        /// Its name.
        name: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// The request is invalid before any call is made.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
    },
    /// A call to the provider's API failed.
    #[error("{operation} {resource}: {message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Api {
        /// The API operation, e.g. "CreateCluster".
        operation: String,
        /// The resource it was about.
        resource: String,
        /// The service's message.
        message: String,
        /// What to do next (missing permission, quota, ...).
        hint: Option<String>,
    },
    /// A command on a node failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A provider-specific failure whose own message already says what failed and what to do.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Result of provider operations.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// A failed external command: shell-pasteable command line plus its output.
#[derive(Debug, thiserror::Error)]
pub struct RunError {
    /// Where it ran (host or container name).
    pub host: String,
    /// The argv.
    pub command: Vec<String>,
    /// Combined stdout/stderr (trimmed), for the user to read.
    pub output: String,
    /// Exit status text or spawn error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command failed on {}: {}",
            self.host,
            shell_join(&self.command)
        )?;
        if !self.output.trim().is_empty() {
            write!(f, "\n{}", self.output.trim_end())?;
        }
        Ok(())
    }
}

/// Joins argv into a line a user can paste into a shell.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_error_prints_a_pasteable_command_and_its_output() {
        let err = RunError {
            host: "dev-server-0".into(),
            command: vec!["sh".into(), "-c".into(), "echo 'hi there'".into()],
            output: "boom\n".into(),
            source: None,
        };
        assert_eq!(
            err.to_string(),
            "command failed on dev-server-0: sh -c 'echo '\\''hi there'\\'''\nboom"
        );
    }
}
