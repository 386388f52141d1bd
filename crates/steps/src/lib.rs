//! The step runner behind every long clusterctl operation.
//!
//! A cluster create, delete or scale is an ordered list of small, titled [`Step`]s that a
//! provider writes and a [`Runner`] executes:
//!
//! - progress goes out as [`Event`]s to a [`Reporter`] (the CLI renders them; this crate never prints);
//! - every mutation goes through [`Ctx::wet`], so under `--dry-run` the [`Ctx::plan`] lists exactly
//!   the actions a real run would take;
//! - a step whose [`Step::is_done`] says so is skipped, so a re-run resumes;
//! - on failure, the failed and completed steps are cleaned up in reverse unless the runner retains them;
//! - on cancellation (Ctrl-C, see [`cancel_on_ctrl_c`]) the runner stops without cleaning up.
//!
//! Steps share data through the typed [`Extensions`] map on the context.
//! [`for_each_host`] and [`wait_for`] are the helpers steps use for bounded per-host parallelism
//! and for polling with visible progress.

mod cancel;
mod ctx;
mod error;
mod event;
mod extensions;
mod hosts;
mod mutator;
mod run_error;
mod runner;
mod step;
mod wait;

pub use cancel::cancel_on_ctrl_c;
pub use ctx::Ctx;
pub use error::{Error, Result};
pub use event::{Event, NullReporter, RecordingReporter, Reporter};
pub use extensions::Extensions;
pub use hosts::{for_each_host, HostError, HostErrors};
pub use mutator::{Mutator, PlannedAction};
pub use run_error::{CleanupFailure, RunError};
pub use runner::{RunReport, Runner, StepOutcome, StepStatus};
pub use step::{BoxFuture, Step, StepError, StepResult};
pub use tokio_util::sync::CancellationToken;
pub use wait::{format_duration, wait_for};

/// Renders an error and all of its sources as `outer: inner: root`, for one-line messages.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut rendered = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some errors already embed their source in their own message; do not repeat it.
        if !rendered.ends_with(&text) {
            rendered.push_str(": ");
            rendered.push_str(&text);
        }
        source = cause.source();
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("starting control plane on node-1")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn error_chain_joins_every_cause_with_colons() {
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            error_chain(&error),
            "starting control plane on node-1: connection refused"
        );
    }

    #[test]
    fn error_chain_does_not_repeat_a_cause_already_in_the_message() {
        #[derive(Debug, thiserror::Error)]
        #[error("docker run failed: {0}")]
        struct Embeds(#[source] std::io::Error);
        let error = Embeds(std::io::Error::other("no such image"));
        assert_eq!(error_chain(&error), "docker run failed: no such image");
    }
}
