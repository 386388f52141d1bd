//! The steps of every long EKS operation, one file per group, each idempotent (it finds what it
//! made by tags first) and each mutation through `ctx.wet`, so a dry run lists exactly the calls a
//! real run would make. Create steps make no AWS calls at all under dry-run (the plan is that of a
//! fresh create); delete steps read, to list what they would delete.

pub mod cluster;
pub mod iam;
pub mod kubeconfig;
pub mod network;
pub mod nodegroups;
pub mod preflight;
pub mod upgrade;

#[cfg(test)]
mod flow_tests;

use std::time::Duration;

use clusterctl_steps::{wait_for, Ctx, StepError};

use crate::api::{Aws, NetKind, NetResource, Tags};
use crate::names;
use crate::Result;

/// Polling interval while waiting for EKS (which takes minutes for anything).
pub const POLL: Duration = Duration::from_secs(15);

/// What every step works on: the clients and the cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// The AWS clients.
    pub aws: Aws,
    /// Cluster name.
    pub cluster: String,
    /// The user's tags, added to every resource.
    pub tags: Tags,
    /// Bound on each wait.
    pub wait: Duration,
}

impl Target {
    /// A target for `cluster` with no extra tags.
    pub fn new(aws: Aws, cluster: impl Into<String>, wait: Duration) -> Self {
        Self {
            aws,
            cluster: cluster.into(),
            tags: Tags::new(),
            wait,
        }
    }

    /// Where actions happen, for the dry-run plan: `<region>/<cluster>`.
    pub fn host(&self) -> String {
        format!("{}/{}", self.aws.region, self.cluster)
    }

    /// Tags for the logical resource `resource` of this cluster.
    pub fn tags_for(&self, resource: &str) -> Tags {
        names::tags_for(&self.cluster, resource, &self.tags)
    }

    /// The one resource of `kind` named `resource`, if it exists; `None` under dry-run (no calls).
    pub async fn find_one(
        &self,
        ctx: &Ctx,
        kind: NetKind,
        resource: &str,
    ) -> Result<Option<NetResource>> {
        if ctx.is_dry_run() {
            return Ok(None);
        }
        let found = self
            .aws
            .ec2
            .find(kind, &names::filter_for(&self.cluster, resource))
            .await?;
        Ok(found.into_iter().next())
    }

    /// Every resource of `kind` this tool created for the cluster.
    pub async fn find_owned(&self, kind: NetKind) -> Result<Vec<NetResource>> {
        let found = self
            .aws
            .ec2
            .find(kind, &names::owned(&self.cluster))
            .await?;
        // The filter already asks for both tags; check again so nothing untagged is ever touched.
        Ok(found
            .into_iter()
            .filter(|r| names::is_owned(&r.tags, &self.cluster))
            .collect())
    }
}

/// One look at something being waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// It is there.
    Done,
    /// Not yet; the text (e.g. `status CREATING`) is shown in the progress line.
    Pending(String),
}

/// Waits, bounded and with visible progress, until `probe` says [`Poll::Done`]; an error from
/// `probe` (a FAILED status, a denied call) stops the wait at once.
pub async fn wait_until<F, Fut>(
    ctx: &Ctx,
    what: String,
    timeout: Duration,
    mut probe: F,
) -> Result<(), StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Poll>>,
{
    let outcome = wait_for(ctx, &what, timeout, POLL, || {
        let attempt = probe();
        async move {
            match attempt.await {
                Ok(Poll::Done) => Ok(Ok(())),
                Ok(Poll::Pending(state)) => Err(StepError::from(state)),
                Err(terminal) => Ok(Err(terminal)),
            }
        }
    })
    .await?;
    match outcome {
        Some(Err(terminal)) => Err(Box::new(terminal)),
        _ => Ok(()),
    }
}
