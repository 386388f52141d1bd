//! The context every step runs with.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{Event, Extensions, Mutator, PlannedAction, Reporter};

/// What a step gets to work with: the dry-run gate, cancellation, progress reporting and
/// the data earlier steps left behind.
///
/// ```
/// use std::sync::Arc;
/// use clusterctl_steps::{CancellationToken, Ctx, NullReporter};
///
/// let token = CancellationToken::new();
/// let ctx = Ctx::new(Arc::new(NullReporter))
///     .with_dry_run(true)
///     .with_cancellation(token.clone());
/// assert!(ctx.is_dry_run());
/// ```
pub struct Ctx {
    mutator: Mutator,
    cancellation: CancellationToken,
    reporter: Arc<dyn Reporter>,
    extensions: Extensions,
}

impl Ctx {
    /// A context that reports to `reporter`, runs mutations for real and is never cancelled
    /// unless a token is attached with [`Ctx::with_cancellation`].
    pub fn new(reporter: Arc<dyn Reporter>) -> Self {
        Self {
            mutator: Mutator::new(false),
            cancellation: CancellationToken::new(),
            reporter,
            extensions: Extensions::default(),
        }
    }

    /// Turns `--dry-run` on or off; under dry-run [`Ctx::wet`] records instead of running.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.mutator = Mutator::new(dry_run);
        self
    }

    /// Uses `token` for cancellation (the CLI cancels it on Ctrl-C, see [`crate::cancel_on_ctrl_c`]).
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.mutator.is_dry_run()
    }

    /// The cancellation token; long waits inside steps should race against `cancelled()`.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether the run has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// Sends a progress line for the running step ("Waiting for 2 nodes to join").
    pub fn progress(&self, message: impl Into<String>) {
        self.report(Event::StepProgress {
            message: message.into(),
        });
    }

    /// Sends any event to the reporter.
    pub fn report(&self, event: Event) {
        self.reporter.report(event);
    }

    /// The one helper through which every mutation goes: runs `mutation` and returns
    /// `Ok(Some(output))`, or under dry-run records `would <action> on <host>` in the plan
    /// and returns `Ok(None)` without polling it.
    pub async fn wet<T, E, F>(
        &self,
        host: &str,
        action: impl fmt::Display,
        mutation: F,
    ) -> Result<Option<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.mutator.wet(host, action, mutation).await
    }

    /// The gate behind [`Ctx::wet`].
    pub fn mutator(&self) -> &Mutator {
        &self.mutator
    }

    /// The actions a dry run recorded, in order; empty for a real run.
    pub fn plan(&self) -> Vec<PlannedAction> {
        self.mutator.plan()
    }

    /// Data passed from one step to later ones.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("dry_run", &self.is_dry_run())
            .field("cancelled", &self.is_cancelled())
            .field("current_step", &self.mutator.current_step())
            .field("extensions", &self.extensions)
            .finish_non_exhaustive()
    }
}
