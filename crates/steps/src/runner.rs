//! Runs steps in order, skipping finished ones and cleaning up in reverse on failure.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::{error_chain, CleanupFailure, Ctx, Event, RunError, Step, StepError};

/// How one step of a successful run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// The step ran.
    Ran,
    /// The step's `is_done` check said there was nothing to do.
    AlreadyDone,
}

/// One step of a successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// The step's title.
    pub title: String,
    /// Whether it ran or was skipped.
    pub status: StepStatus,
    /// Time spent on it, including the `is_done` check.
    pub elapsed: Duration,
}

/// What a successful run did, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// One outcome per step, in order.
    pub steps: Vec<StepOutcome>,
    /// Time for the whole run.
    pub elapsed: Duration,
}

impl RunReport {
    /// Titles of the steps that ran.
    pub fn ran(&self) -> Vec<&str> {
        self.titles_with(StepStatus::Ran)
    }

    /// Titles of the steps skipped as already done.
    pub fn skipped(&self) -> Vec<&str> {
        self.titles_with(StepStatus::AlreadyDone)
    }

    fn titles_with(&self, status: StepStatus) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|step| step.status == status)
            .map(|step| step.title.as_str())
            .collect()
    }
}

/// Runs an ordered list of steps against one [`Ctx`].
///
/// ```no_run
/// # use clusterctl_steps::{Ctx, Runner, Step};
/// # async fn create(steps: Vec<Box<dyn Step>>, ctx: &Ctx) -> Result<(), clusterctl_steps::RunError> {
/// let report = Runner::new(steps)
///     .retain(false)
///     .cleanup_hint("run `clusterctl delete --name dev`")
///     .run(ctx)
///     .await?;
/// # Ok(()) }
/// ```
pub struct Runner {
    steps: Vec<Box<dyn Step>>,
    retain: bool,
    cleanup_hint: Option<String>,
}

impl Runner {
    /// A runner for `steps`, cleaning up on failure.
    pub fn new(steps: Vec<Box<dyn Step>>) -> Self {
        Self {
            steps,
            retain: false,
            cleanup_hint: None,
        }
    }

    /// With `true`, a failure leaves everything in place for inspection (`--retain`).
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// How to clean up by hand, shown when resources were retained or cleanup failed
    /// ("run `clusterctl delete --name dev`").
    pub fn cleanup_hint(mut self, hint: impl Into<String>) -> Self {
        self.cleanup_hint = Some(hint.into());
        self
    }

    /// The titles of the steps, in order (for listing a plan before running it).
    pub fn titles(&self) -> Vec<String> {
        self.steps.iter().map(|step| step.title()).collect()
    }

    /// Runs every step in order, skipping those already done.
    ///
    /// On failure, unless retained or dry-run, cleans up the failed step and then every step this
    /// run completed, in reverse (steps skipped as already done were not created by this run and
    /// are left alone). On cancellation, stops at the next await point without cleaning up.
    pub async fn run(&self, ctx: &Ctx) -> Result<RunReport, RunError> {
        let run_started = Instant::now();
        let total = self.steps.len();
        let mut outcomes = Vec::with_capacity(total);
        let mut ran: Vec<usize> = Vec::new();
        for (position, step) in self.steps.iter().enumerate() {
            let title = step.title();
            let index = position + 1;
            ctx.mutator().set_current_step(Some(title.clone()));
            if ctx.is_cancelled() {
                return Err(self.cancelled(ctx, title, Duration::ZERO));
            }
            ctx.report(Event::StepStarted {
                index,
                total,
                title: title.clone(),
            });
            let started = Instant::now();

            let done = match until_cancelled(ctx, step.is_done(ctx)).await {
                None => return Err(self.cancelled(ctx, title, started.elapsed())),
                Some(Ok(done)) => done,
                Some(Err(error)) => {
                    let error = Box::new(CheckFailed(error));
                    return Err(self.fail(ctx, position, &ran, error, started).await);
                }
            };
            if done {
                ctx.report(Event::StepSkipped {
                    index,
                    total,
                    title: title.clone(),
                });
                outcomes.push(StepOutcome {
                    title,
                    status: StepStatus::AlreadyDone,
                    elapsed: started.elapsed(),
                });
                continue;
            }

            match until_cancelled(ctx, step.run(ctx)).await {
                None => return Err(self.cancelled(ctx, title, started.elapsed())),
                // A step that gave up because of cancellation is cancelled, not failed.
                Some(Err(_)) if ctx.is_cancelled() => {
                    return Err(self.cancelled(ctx, title, started.elapsed()));
                }
                Some(Err(error)) => {
                    return Err(self.fail(ctx, position, &ran, error, started).await)
                }
                Some(Ok(())) => {}
            }
            let elapsed = started.elapsed();
            ctx.report(Event::StepFinished {
                title: title.clone(),
                elapsed,
            });
            outcomes.push(StepOutcome {
                title,
                status: StepStatus::Ran,
                elapsed,
            });
            ran.push(position);
        }
        ctx.mutator().set_current_step(None);
        Ok(RunReport {
            steps: outcomes,
            elapsed: run_started.elapsed(),
        })
    }

    fn cancelled(&self, ctx: &Ctx, step: String, elapsed: Duration) -> RunError {
        ctx.mutator().set_current_step(None);
        ctx.report(Event::StepCancelled {
            title: step.clone(),
            elapsed,
        });
        tracing::info!(step, "run cancelled; nothing cleaned up");
        RunError::Cancelled { step }
    }

    async fn fail(
        &self,
        ctx: &Ctx,
        failed: usize,
        ran: &[usize],
        error: StepError,
        started: Instant,
    ) -> RunError {
        let step = self.steps[failed].title();
        ctx.report(Event::StepFailed {
            title: step.clone(),
            error: error_chain(&*error),
            elapsed: started.elapsed(),
        });
        let mut cleanup_errors = Vec::new();
        if !self.retain && !ctx.is_dry_run() {
            let order = std::iter::once(failed).chain(ran.iter().rev().copied());
            for position in order {
                if let Some(failure) = self.clean(ctx, position).await {
                    cleanup_errors.push(failure);
                }
            }
        }
        ctx.mutator().set_current_step(None);
        RunError::Failed {
            step,
            source: error,
            cleanup_errors,
            retained: self.retain,
            hint: self.cleanup_hint.clone(),
        }
    }

    /// Cleans up one step; not raced against cancellation, so a first Ctrl-C does not leave
    /// a half-cleaned state (a second Ctrl-C is the CLI's hard exit).
    async fn clean(&self, ctx: &Ctx, position: usize) -> Option<CleanupFailure> {
        let step = &self.steps[position];
        let title = step.title();
        ctx.mutator().set_current_step(Some(title.clone()));
        ctx.report(Event::CleanupStarted {
            title: title.clone(),
        });
        let started = Instant::now();
        match step.cleanup(ctx).await {
            Ok(()) => {
                ctx.report(Event::CleanupFinished {
                    title,
                    elapsed: started.elapsed(),
                });
                None
            }
            Err(source) => {
                ctx.report(Event::CleanupFailed {
                    title: title.clone(),
                    error: error_chain(&*source),
                    elapsed: started.elapsed(),
                });
                Some(CleanupFailure {
                    step: title,
                    source,
                })
            }
        }
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("steps", &self.titles())
            .field("retain", &self.retain)
            .field("cleanup_hint", &self.cleanup_hint)
            .finish()
    }
}

/// Runs `work` unless the context is cancelled first; `None` means cancelled.
async fn until_cancelled<F: Future>(ctx: &Ctx, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = ctx.cancellation().cancelled() => None,
        output = work => Some(output),
    }
}

/// An `is_done` check that failed, so the step counts as failed.
#[derive(Debug, thiserror::Error)]
#[error("checking whether it is already done")]
struct CheckFailed(#[source] StepError);
