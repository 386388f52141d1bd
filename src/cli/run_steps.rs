//! Running a provider's steps the one way every verb does: progress on stderr, `--dry-run` plan,
//! `--retain`, and Ctrl-C cancellation that leaves everything for a re-run to resume.

use std::sync::Arc;

use clusterctl_steps::{
    cancel_on_ctrl_c, CancellationToken, Ctx, PlannedAction, RunError, Runner, Step,
};

use super::{GlobalArgs, Interrupted};
use crate::progress::Progress;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Record the plan instead of changing anything.
    pub dry_run: bool,
    /// Keep what was made when a step fails.
    pub retain: bool,
    /// How to clean up by hand, shown when resources are kept.
    pub cleanup_hint: Option<String>,
}

/// Runs `steps`; returns the dry-run plan (empty for a real run).
pub async fn run_steps(
    global: &GlobalArgs,
    steps: Vec<Box<dyn Step>>,
    options: RunOptions,
) -> anyhow::Result<Vec<PlannedAction>> {
    let token = CancellationToken::new();
    let ctrl_c = cancel_on_ctrl_c(token.clone());
    let ctx = Ctx::new(Arc::new(Progress::new(global.quiet)))
        .with_dry_run(options.dry_run)
        .with_cancellation(token.clone());
    let mut runner = Runner::new(steps).retain(options.retain);
    if let Some(hint) = options.cleanup_hint {
        runner = runner.cleanup_hint(hint);
    }
    let result = runner.run(&ctx).await;
    token.cancel();
    let _ = ctrl_c.await;
    match result {
        Ok(_) => Ok(ctx.plan()),
        Err(cancelled @ RunError::Cancelled { .. }) => {
            Err(Interrupted(cancelled.to_string()).into())
        }
        Err(failed) => Err(failed.into()),
    }
}

/// Prints a dry-run plan as `# would ...` lines: on stdout after YAML (where they are comments),
/// on stderr when stdout carries JSON.
pub fn print_plan(plan: &[PlannedAction], to_stderr: bool) {
    let mut text = format!(
        "# step plan ({} actions; nothing was changed):\n",
        plan.len()
    );
    let mut step = None;
    for action in plan {
        if action.step != step {
            step = action.step.clone();
            if let Some(title) = &step {
                text.push_str(&format!("# {title}\n"));
            }
        }
        text.push_str(&format!("#   {action}\n"));
    }
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}
