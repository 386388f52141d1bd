//! Step 0: who is calling, in which region — so a missing credential fails before anything is made.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::Target;

/// Checks the credentials with `sts:GetCallerIdentity`.
#[derive(Debug)]
pub struct CheckCredentials {
    target: Target,
}

impl CheckCredentials {
    /// The step.
    pub fn new(target: Target) -> Self {
        Self { target }
    }
}

impl Step for CheckCredentials {
    fn title(&self) -> String {
        format!(
            "Checking AWS credentials for region {}",
            self.target.aws.region
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            if ctx.is_dry_run() {
                return Ok(());
            }
            let who = self.target.aws.sts.caller_identity().await?;
            ctx.progress(format!("Acting as {} in account {}", who.arn, who.account));
            Ok(())
        })
    }
}
