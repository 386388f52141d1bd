//! How a run ends when it does not succeed.

use std::fmt::{self, Write as _};

use crate::{error_chain, StepError};

/// A step's cleanup that failed after the run had already failed.
#[derive(Debug)]
pub struct CleanupFailure {
    /// Title of the step whose cleanup failed.
    pub step: String,
    /// What went wrong during cleanup.
    pub source: StepError,
}

impl fmt::Display for CleanupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cleanup of \"{}\" failed: {}",
            self.step,
            error_chain(&*self.source)
        )
    }
}

impl std::error::Error for CleanupFailure {}

/// Why [`crate::Runner::run`] did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A step failed. Unless resources were retained (or this was a dry run), the failed step and
    /// the steps this run completed were cleaned up in reverse; every cleanup failure is kept.
    #[error("{}", describe_failure(step, source, cleanup_errors, *retained, hint.as_deref()))]
    Failed {
        /// Title of the step that failed.
        step: String,
        /// The step's error.
        source: StepError,
        /// Every cleanup that failed, in the order cleanups ran.
        cleanup_errors: Vec<CleanupFailure>,
        /// Whether cleanup was skipped on purpose so the resources can be inspected.
        retained: bool,
        /// How the user cleans up by hand ("run `clusterctl delete --name dev`"), from the caller.
        hint: Option<String>,
    },
    /// The run was cancelled during `step`; nothing was cleaned up, so a re-run resumes.
    #[error(
        "cancelled during step \"{step}\"; nothing was cleaned up, re-run the same command to resume"
    )]
    Cancelled {
        /// Title of the step that was running (or about to run).
        step: String,
    },
}

impl RunError {
    /// Title of the step that failed or was interrupted.
    pub fn step(&self) -> &str {
        match self {
            Self::Failed { step, .. } | Self::Cancelled { step } => step,
        }
    }

    /// Whether the run was cancelled rather than failed.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }

    /// The cleanups that failed after a step failure; empty otherwise.
    pub fn cleanup_errors(&self) -> &[CleanupFailure] {
        match self {
            Self::Failed { cleanup_errors, .. } => cleanup_errors,
            Self::Cancelled { .. } => &[],
        }
    }
}

fn describe_failure(
    step: &str,
    source: &StepError,
    cleanup_errors: &[CleanupFailure],
    retained: bool,
    hint: Option<&str>,
) -> String {
    let mut text = format!("step \"{step}\" failed: {}", error_chain(&**source));
    for failure in cleanup_errors {
        let _ = write!(text, "\n{failure}");
    }
    if retained {
        text.push_str("\nresources were retained for inspection");
        if let Some(hint) = hint {
            let _ = write!(text, "; to clean up, {hint}");
        }
    } else if !cleanup_errors.is_empty() {
        text.push_str("\nsome resources may remain");
        if let Some(hint) = hint {
            let _ = write!(text, "; to clean up, {hint}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn failed(cleanup: Vec<CleanupFailure>, retained: bool, hint: Option<&str>) -> RunError {
        RunError::Failed {
            step: "Starting control plane".into(),
            source: "connection refused".into(),
            cleanup_errors: cleanup,
            retained,
            hint: hint.map(str::to_owned),
        }
    }

    #[test]
    fn failure_names_the_step_and_its_error_and_exposes_the_source() {
        let error = failed(vec![], false, Some("run `clusterctl delete --name dev`"));
        assert_eq!(
            error.to_string(),
            "step \"Starting control plane\" failed: connection refused"
        );
        let source = error.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection refused"));
    }

    #[test]
    fn failure_lists_every_cleanup_error_and_the_hint() {
        let cleanup = vec![
            CleanupFailure {
                step: "Starting control plane".into(),
                source: "no such container".into(),
            },
            CleanupFailure {
                step: "Provisioning nodes".into(),
                source: "docker daemon not running".into(),
            },
        ];
        let error = failed(cleanup, false, Some("run `clusterctl delete --name dev`"));
        assert_eq!(
            error.to_string(),
            "step \"Starting control plane\" failed: connection refused\n\
             cleanup of \"Starting control plane\" failed: no such container\n\
             cleanup of \"Provisioning nodes\" failed: docker daemon not running\n\
             some resources may remain; to clean up, run `clusterctl delete --name dev`"
        );
    }

    #[test]
    fn retained_failure_says_so_and_how_to_clean_up() {
        let error = failed(vec![], true, Some("run `clusterctl delete --name dev`"));
        assert!(error.to_string().ends_with(
            "\nresources were retained for inspection; to clean up, run `clusterctl delete --name dev`"
        ));
    }
}
