//! Errors of the helpers steps use ([`crate::for_each_host`], [`crate::wait_for`]).

use std::time::Duration;

use crate::{format_duration, HostErrors};

/// Result of the step helpers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a step helper gave up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run was cancelled (Ctrl-C) while the helper was working.
    #[error("cancelled while {operation}")]
    Cancelled {
        /// What was being done ("waiting for control plane to be ready").
        operation: String,
    },
    /// Work on one or more hosts failed; every host's error is listed.
    #[error(transparent)]
    Hosts(#[from] HostErrors),
    /// A wait ran out of time.
    #[error(
        "timed out after {} waiting for {what}; {}",
        format_duration(*timeout),
        match last_error {
            Some(error) => format!("last probe error: {error}"),
            None => "no probe finished in time".to_owned(),
        }
    )]
    WaitTimedOut {
        /// What was waited for ("control plane to be ready").
        what: String,
        /// The time allowed.
        timeout: Duration,
        /// The last error the probe returned, rendered with its causes.
        last_error: Option<String>,
    },
}

impl Error {
    /// Whether this error means the run was cancelled rather than that something failed.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }
}
