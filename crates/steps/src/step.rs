//! The `Step` trait that providers implement.

use std::future::Future;
use std::pin::Pin;

use crate::Ctx;

/// The error a step returns; boxed because steps come from many crates with their own error types.
pub type StepError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result of a step's `run`, `cleanup` or `is_done`.
pub type StepResult<T = ()> = std::result::Result<T, StepError>;

/// A boxed, sendable future, so that `Step` stays usable as `Box<dyn Step>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One titled, idempotent piece of a long operation (provision nodes, generate PKI, wait ready…).
///
/// Methods return boxed futures so that the open set of steps can live in one
/// `Vec<Box<dyn Step>>`; implement them as `Box::pin(async move { … })`.
/// Every mutation inside `run` and `cleanup` goes through [`Ctx::wet`], which makes dry-run exact.
///
/// ```
/// use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};
///
/// struct StartServer { host: String }
///
/// impl Step for StartServer {
///     fn title(&self) -> String {
///         format!("Starting server on {}", self.host)
///     }
///     fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
///         Box::pin(async move {
///             ctx.wet(&self.host, "start clusterd server", async { StepResult::Ok(()) }).await?;
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait Step: Send + Sync {
    /// The human progress line for this step, e.g. "Provisioning 3 node containers".
    fn title(&self) -> String;

    /// Does the work; must be idempotent so that a re-run after a failure resumes.
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult>;

    /// Undoes what `run` created, also after a partial `run`; the default does nothing.
    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        let _ = ctx;
        Box::pin(async { Ok(()) })
    }

    /// Reports whether the work is already done, so the runner can skip it; the default says no.
    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        let _ = ctx;
        Box::pin(async { Ok(false) })
    }
}
