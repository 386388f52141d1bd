//! `upgrade`: the control plane to the next Kubernetes version (`UpdateClusterVersion`), then each
//! node group clusterctl created (`UpdateNodegroupVersion`), waiting for each.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::cluster::owned_cluster;
use super::{wait_until, Poll, Target};
use crate::names;
use crate::Error;

/// Upgrades the control plane.
#[derive(Debug)]
pub struct UpgradeControlPlane {
    target: Target,
    version: String,
}

impl UpgradeControlPlane {
    /// The step to `version`.
    pub fn new(target: Target, version: impl Into<String>) -> Self {
        Self {
            target,
            version: version.into(),
        }
    }
}

impl Step for UpgradeControlPlane {
    fn title(&self) -> String {
        format!(
            "Upgrading the control plane of {} to Kubernetes {}",
            self.target.cluster, self.version
        )
    }

    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            if ctx.is_dry_run() {
                return Ok(false);
            }
            let cluster = owned_cluster(&self.target).await?;
            Ok(cluster.is_some_and(|c| c.version == self.version && c.status == "ACTIVE"))
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let t = &self.target;
            if !ctx.is_dry_run() {
                let cluster = owned_cluster(t).await?.ok_or_else(|| Error::NotFound {
                    what: "EKS cluster",
                    name: t.cluster.clone(),
                    hint: Some("check the name and --region".to_owned()),
                })?;
                if cluster.status == "UPDATING" {
                    ctx.progress("An update is already in progress; waiting for it");
                } else if cluster.version != self.version {
                    ctx.wet(
                        &t.host(),
                        format!(
                            "update EKS cluster {} from Kubernetes {} to {}",
                            t.cluster, cluster.version, self.version
                        ),
                        t.aws.eks.update_cluster_version(&t.cluster, &self.version),
                    )
                    .await?;
                }
            } else {
                ctx.wet(
                    &t.host(),
                    format!(
                        "update EKS cluster {} to Kubernetes {}",
                        t.cluster, self.version
                    ),
                    t.aws.eks.update_cluster_version(&t.cluster, &self.version),
                )
                .await?;
            }
            let version = self.version.clone();
            wait_until(
                ctx,
                format!("EKS cluster {} to run Kubernetes {version}", t.cluster),
                t.wait,
                || async {
                    let cluster = t.aws.eks.describe_cluster(&t.cluster).await?;
                    Ok(match cluster {
                        Some(c) if c.status == "ACTIVE" && c.version == version => Poll::Done,
                        Some(c) => {
                            Poll::Pending(format!("status {}, version {}", c.status, c.version))
                        }
                        None => {
                            return Err(Error::NotFound {
                                what: "EKS cluster",
                                name: t.cluster.clone(),
                                hint: None,
                            })
                        }
                    })
                },
            )
            .await
        })
    }
}

/// Upgrades every node group clusterctl created in the cluster to the control plane's version.
#[derive(Debug)]
pub struct UpgradeNodegroups {
    target: Target,
    version: String,
}

impl UpgradeNodegroups {
    /// The step to `version`.
    pub fn new(target: Target, version: impl Into<String>) -> Self {
        Self {
            target,
            version: version.into(),
        }
    }
}

impl Step for UpgradeNodegroups {
    fn title(&self) -> String {
        format!(
            "Upgrading the node groups of {} to Kubernetes {}",
            self.target.cluster, self.version
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let t = &self.target;
            if ctx.is_dry_run() {
                ctx.wet(
                    &t.host(),
                    format!(
                        "update every node group of {} to Kubernetes {}",
                        t.cluster, self.version
                    ),
                    async { Ok::<(), Error>(()) },
                )
                .await?;
                return Ok(());
            }
            for name in t.aws.eks.list_nodegroups(&t.cluster).await? {
                let Some(ng) = t.aws.eks.describe_nodegroup(&t.cluster, &name).await? else {
                    continue;
                };
                if !names::is_owned(&ng.tags, &t.cluster)
                    || ng.version.as_deref() == Some(self.version.as_str())
                {
                    continue;
                }
                ctx.wet(
                    &t.host(),
                    format!("update node group {name} to Kubernetes {}", self.version),
                    t.aws
                        .eks
                        .update_nodegroup_version(&t.cluster, &name, &self.version),
                )
                .await?;
                let version = self.version.clone();
                wait_until(
                    ctx,
                    format!("node group {name} to run Kubernetes {version}"),
                    t.wait,
                    || async {
                        Ok(
                            match t.aws.eks.describe_nodegroup(&t.cluster, &name).await? {
                                Some(n)
                                    if n.status == "ACTIVE"
                                        && n.version.as_deref() == Some(version.as_str()) =>
                                {
                                    Poll::Done
                                }
                                Some(n) => Poll::Pending(format!("status {}", n.status)),
                                None => Poll::Pending("not visible".to_owned()),
                            },
                        )
                    },
                )
                .await?;
            }
            Ok(())
        })
    }
}
