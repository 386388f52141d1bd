//! Step 3: the EKS cluster, waited for until ACTIVE; and its deletion.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::iam::Roles;
use super::network::Network;
use super::{wait_until, Poll, Target};
use crate::api::{ClusterInfo, NewCluster};
use crate::names;
use crate::{Error, Result};

/// The cluster if it exists, refusing one that clusterctl did not create.
pub async fn owned_cluster(target: &Target) -> Result<Option<ClusterInfo>> {
    match target.aws.eks.describe_cluster(&target.cluster).await? {
        Some(c) if !names::is_owned(&c.tags, &target.cluster) => Err(Error::NotOwned {
            what: "EKS cluster",
            name: target.cluster.clone(),
            cluster: target.cluster.clone(),
        }),
        other => Ok(other),
    }
}

/// Waits until the cluster is ACTIVE (a FAILED cluster stops the wait).
pub async fn wait_active(ctx: &Ctx, target: &Target) -> StepResult {
    wait_until(ctx, format!("EKS cluster {} to be ACTIVE", target.cluster), target.wait, || async {
        let cluster = target.aws.eks.describe_cluster(&target.cluster).await?;
        Ok(match cluster.map(|c| c.status) {
            Some(s) if s == "ACTIVE" => Poll::Done,
            Some(s) if s == "FAILED" => {
                return Err(Error::Invalid(format!(
                    "EKS cluster {} FAILED; see its health in the EKS console, then `clusterctl delete --provider eks --name {}`",
                    target.cluster, target.cluster
                )))
            }
            Some(s) => Poll::Pending(format!("status {s}")),
            None => Poll::Pending("not visible yet".to_owned()),
        })
    })
    .await
}

/// Creates the cluster and waits for it.
#[derive(Debug)]
pub struct CreateCluster {
    target: Target,
    version: String,
    service_cidr: Option<String>,
}

impl CreateCluster {
    /// The step for Kubernetes `version`, with Service IPs from `service_cidr`.
    pub fn new(target: Target, version: impl Into<String>, service_cidr: Option<String>) -> Self {
        Self {
            target,
            version: version.into(),
            service_cidr,
        }
    }
}

impl Step for CreateCluster {
    fn title(&self) -> String {
        format!(
            "Creating EKS cluster {} (Kubernetes {}) and waiting until ACTIVE (up to {})",
            self.target.cluster,
            self.version,
            clusterctl_steps::format_duration(self.target.wait)
        )
    }

    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            if ctx.is_dry_run() {
                return Ok(false);
            }
            Ok(owned_cluster(&self.target)
                .await?
                .is_some_and(|c| c.status == "ACTIVE"))
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let t = &self.target;
            let existing = if ctx.is_dry_run() {
                None
            } else {
                owned_cluster(t).await?
            };
            if existing.is_none() {
                let network = ctx.extensions().get::<Network>().unwrap_or_default();
                let roles = ctx.extensions().get::<Roles>().unwrap_or_default();
                let request = NewCluster {
                    name: t.cluster.clone(),
                    version: self.version.clone(),
                    role_arn: roles.cluster,
                    subnet_ids: network.all_subnets(),
                    security_group_ids: network.security_groups,
                    service_cidr: self.service_cidr.clone(),
                    tags: t.tags_for("cluster"),
                };
                ctx.wet(
                    &t.host(),
                    format!(
                        "create EKS cluster {} (Kubernetes {})",
                        t.cluster, self.version
                    ),
                    t.aws.eks.create_cluster(&request),
                )
                .await?;
            }
            wait_active(ctx, t).await
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move { delete_cluster(ctx, &self.target).await })
    }
}

/// Deletes the cluster if clusterctl created it, and waits until it is gone.
pub async fn delete_cluster(ctx: &Ctx, target: &Target) -> StepResult {
    let Some(_) = owned_cluster(target).await? else {
        ctx.progress(format!("EKS cluster {} does not exist", target.cluster));
        return Ok(());
    };
    ctx.wet(
        &target.host(),
        format!("delete EKS cluster {}", target.cluster),
        target.aws.eks.delete_cluster(&target.cluster),
    )
    .await?;
    wait_until(
        ctx,
        format!("EKS cluster {} to be deleted", target.cluster),
        target.wait,
        || async {
            Ok(
                match target.aws.eks.describe_cluster(&target.cluster).await? {
                    None => Poll::Done,
                    Some(c) => Poll::Pending(format!("status {}", c.status)),
                },
            )
        },
    )
    .await
}

/// Deletes the cluster (a step of `delete`, after its node groups).
#[derive(Debug)]
pub struct DeleteCluster {
    target: Target,
}

impl DeleteCluster {
    /// The step.
    pub fn new(target: Target) -> Self {
        Self { target }
    }
}

impl Step for DeleteCluster {
    fn title(&self) -> String {
        format!(
            "Deleting EKS cluster {} and waiting until it is gone",
            self.target.cluster
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move { delete_cluster(ctx, &self.target).await })
    }
}
