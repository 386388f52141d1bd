//! The one gate every mutation passes through, which turns into a plan under dry-run.

use std::fmt;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

/// One action a dry run would have taken: `would <action> on <host>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAction {
    /// Title of the step that asked for the action, if it ran under a [`crate::Runner`].
    pub step: Option<String>,
    /// The host or resource the action targets ("node-1", "eks/dev", "docker").
    pub host: String,
    /// What would be done, in the imperative ("create container dev-control-plane").
    pub action: String,
}

impl fmt::Display for PlannedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "would {} on {}", self.action, self.host)
    }
}

/// Runs mutations, or under dry-run records them into the plan instead (k0sctl's `Wet`).
///
/// Reach it through [`crate::Ctx::wet`]; routing every side effect through it is what makes the
/// dry-run plan exact.
#[derive(Debug, Default)]
pub struct Mutator {
    dry_run: bool,
    plan: Mutex<Vec<PlannedAction>>,
    current_step: Mutex<Option<String>>,
}

impl Mutator {
    pub(crate) fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            ..Self::default()
        }
    }

    /// Whether mutations are recorded instead of run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Runs `mutation` and returns its output, or under dry-run records
    /// `would <action> on <host>` and returns `Ok(None)` without polling `mutation`.
    pub async fn wet<T, E, F>(
        &self,
        host: &str,
        action: impl fmt::Display,
        mutation: F,
    ) -> Result<Option<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        if self.dry_run {
            let planned = PlannedAction {
                step: lock(&self.current_step).clone(),
                host: host.to_owned(),
                action: action.to_string(),
            };
            tracing::debug!(host, action = %planned.action, "dry run: recorded");
            lock(&self.plan).push(planned);
            return Ok(None);
        }
        tracing::debug!(host, action = %action, "applying");
        mutation.await.map(Some)
    }

    /// The actions recorded so far under dry-run, in the order they were requested.
    pub fn plan(&self) -> Vec<PlannedAction> {
        lock(&self.plan).clone()
    }

    pub(crate) fn set_current_step(&self, title: Option<String>) {
        *lock(&self.current_step) = title;
    }

    pub(crate) fn current_step(&self) -> Option<String> {
        lock(&self.current_step).clone()
    }
}

/// Locks a mutex that is never held across a panic-prone call; a poisoned lock still holds valid data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dry_run_records_the_action_and_never_polls_the_mutation() {
        let mutator = Mutator::new(true);
        mutator.set_current_step(Some("Provisioning nodes".into()));
        let out: Result<Option<u32>, std::io::Error> = mutator
            .wet("node-1", "create container", async {
                unreachable!("dry run must not poll the mutation")
            })
            .await;
        assert!(matches!(out, Ok(None)));
        let plan = mutator.plan();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].to_string(), "would create container on node-1");
        assert_eq!(plan[0].step.as_deref(), Some("Provisioning nodes"));
    }

    #[tokio::test]
    async fn wet_run_returns_the_mutation_output_and_records_nothing() {
        let mutator = Mutator::new(false);
        let out: Result<Option<&str>, std::io::Error> = mutator
            .wet("node-1", "create container", async { Ok("abc123") })
            .await;
        assert_eq!(out.ok().flatten(), Some("abc123"));
        assert!(mutator.plan().is_empty());
    }

    #[tokio::test]
    async fn wet_run_passes_the_mutation_error_through() {
        let mutator = Mutator::new(false);
        let out: Result<Option<()>, std::io::Error> = mutator
            .wet("node-1", "remove container", async {
                Err(std::io::Error::other("no such container"))
            })
            .await;
        assert_eq!(out.unwrap_err().to_string(), "no such container");
    }
}
