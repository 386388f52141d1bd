//! Step 4: managed node groups, created in parallel and waited for; and their deletion.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};
use futures_util::future::try_join_all;

use super::iam::Roles;
use super::network::Network;
use super::{wait_until, Poll, Target};
use crate::api::{NewNodegroup, NodegroupInfo};
use crate::names;
use crate::spec::NodegroupSpec;
use crate::{Error, Result};

/// The node group if it exists, refusing one that clusterctl did not create.
async fn owned_nodegroup(target: &Target, name: &str) -> Result<Option<NodegroupInfo>> {
    match target
        .aws
        .eks
        .describe_nodegroup(&target.cluster, name)
        .await?
    {
        Some(ng) if !names::is_owned(&ng.tags, &target.cluster) => Err(Error::NotOwned {
            what: "node group",
            name: name.to_owned(),
            cluster: target.cluster.clone(),
        }),
        other => Ok(other),
    }
}

/// Waits until node group `name` is ACTIVE (a failed group stops the wait).
pub async fn wait_nodegroup_active(ctx: &Ctx, target: &Target, name: &str) -> StepResult {
    wait_until(ctx, format!("node group {name} to be ACTIVE"), target.wait, || async {
        let ng = target.aws.eks.describe_nodegroup(&target.cluster, name).await?;
        Ok(match ng.map(|n| n.status) {
            Some(s) if s == "ACTIVE" => Poll::Done,
            Some(s) if s == "CREATE_FAILED" || s == "DEGRADED" => {
                return Err(Error::Invalid(format!(
                    "node group {name} is {s}; see its health issues with `aws eks describe-nodegroup --cluster-name {} --nodegroup-name {name}`",
                    target.cluster
                )))
            }
            Some(s) => Poll::Pending(format!("status {s}")),
            None => Poll::Pending("not visible yet".to_owned()),
        })
    })
    .await
}

/// Creates managed node groups in parallel and waits until each is ACTIVE.
#[derive(Debug)]
pub struct CreateNodegroups {
    target: Target,
    groups: Vec<NodegroupSpec>,
}

impl CreateNodegroups {
    /// The step for `groups`.
    pub fn new(target: Target, groups: Vec<NodegroupSpec>) -> Self {
        Self { target, groups }
    }

    async fn create_one(
        &self,
        ctx: &Ctx,
        spec: &NodegroupSpec,
        network: &Network,
        node_role: &str,
    ) -> StepResult {
        let t = &self.target;
        let existing = if ctx.is_dry_run() {
            None
        } else {
            owned_nodegroup(t, &spec.name).await?
        };
        if existing.is_none() {
            let request = NewNodegroup {
                cluster: t.cluster.clone(),
                name: spec.name.clone(),
                node_role_arn: node_role.to_owned(),
                subnet_ids: network.node_subnets(),
                instance_types: vec![spec.instance_type.clone()],
                desired: spec.desired,
                min: spec.min,
                max: spec.max,
                disk_size: spec.disk_size,
                labels: spec.labels.clone(),
                taints: spec.taints.clone(),
                tags: t.tags_for(&format!("nodegroup-{}", spec.name)),
            };
            ctx.wet(
                &t.host(),
                format!(
                    "create managed node group {} ({} x {}, min {}, max {})",
                    spec.name, spec.desired, spec.instance_type, spec.min, spec.max
                ),
                t.aws.eks.create_nodegroup(&request),
            )
            .await?;
        }
        wait_nodegroup_active(ctx, t, &spec.name).await
    }
}

impl Step for CreateNodegroups {
    fn title(&self) -> String {
        let names: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        format!(
            "Creating managed node groups {} and waiting until ACTIVE",
            names.join(", ")
        )
    }

    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            if ctx.is_dry_run() {
                return Ok(false);
            }
            for group in &self.groups {
                if owned_nodegroup(&self.target, &group.name)
                    .await?
                    .is_none_or(|n| n.status != "ACTIVE")
                {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let network = match ctx.extensions().get::<Network>() {
                Some(network) => network,
                None => subnets_of_cluster(ctx, &self.target).await?,
            };
            let node_role = match ctx.extensions().get::<Roles>() {
                Some(roles) => roles.node,
                None => node_role_of_cluster(ctx, &self.target).await?,
            };
            try_join_all(
                self.groups
                    .iter()
                    .map(|g| self.create_one(ctx, g, &network, &node_role)),
            )
            .await?;
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let names: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
            delete_nodegroups(ctx, &self.target, &names).await
        })
    }
}

/// For `create nodegroup` on an existing cluster: the subnets clusterctl made for it, else the
/// cluster's own subnets.
async fn subnets_of_cluster(ctx: &Ctx, target: &Target) -> Result<Network> {
    if ctx.is_dry_run() {
        return Ok(Network {
            private: vec!["<subnets of the cluster>".to_owned()],
            ..Network::default()
        });
    }
    let private: Vec<String> = target
        .find_owned(crate::api::NetKind::Subnet)
        .await?
        .into_iter()
        .filter(|s| {
            s.tags
                .get(names::RESOURCE)
                .is_some_and(|r| r.starts_with("subnet-private-"))
        })
        .map(|s| s.id)
        .collect();
    if !private.is_empty() {
        return Ok(Network {
            private,
            ..Network::default()
        });
    }
    let cluster = target
        .aws
        .eks
        .describe_cluster(&target.cluster)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "EKS cluster",
            name: target.cluster.clone(),
            hint: Some("create it first with `clusterctl create --provider eks`".to_owned()),
        })?;
    Ok(Network {
        private: cluster.subnet_ids,
        ..Network::default()
    })
}

/// For `create nodegroup` on an existing cluster: the node role clusterctl made for it.
async fn node_role_of_cluster(ctx: &Ctx, target: &Target) -> Result<String> {
    let name = names::role_name(&target.cluster, names::RoleKind::Node)?;
    if ctx.is_dry_run() {
        return Ok(format!("<arn of {name}>"));
    }
    match target.aws.iam.get_role(&name).await? {
        Some(role) => Ok(role.arn),
        None => Err(Error::NotFound {
            what: "IAM role",
            name,
            hint: Some("the node role clusterctl creates with the cluster is missing; re-run `clusterctl create` for the cluster".to_owned()),
        }),
    }
}

/// Deletes the named node groups clusterctl created (in parallel) and waits until they are gone.
pub async fn delete_nodegroups(ctx: &Ctx, target: &Target, groups: &[String]) -> StepResult {
    try_join_all(groups.iter().map(|name| async move {
        if owned_nodegroup(target, name).await?.is_none() {
            return Ok::<(), clusterctl_steps::StepError>(());
        }
        ctx.wet(
            &target.host(),
            format!("delete node group {name}"),
            target.aws.eks.delete_nodegroup(&target.cluster, name),
        )
        .await?;
        wait_until(
            ctx,
            format!("node group {name} to be deleted"),
            target.wait,
            || async {
                Ok(
                    match target
                        .aws
                        .eks
                        .describe_nodegroup(&target.cluster, name)
                        .await?
                    {
                        None => Poll::Done,
                        Some(ng) => Poll::Pending(format!("status {}", ng.status)),
                    },
                )
            },
        )
        .await
    }))
    .await?;
    Ok(())
}

/// Deletes node groups: all of a cluster's (the first step of `delete`) or the named ones.
#[derive(Debug)]
pub struct DeleteNodegroups {
    target: Target,
    only: Option<Vec<String>>,
}

impl DeleteNodegroups {
    /// Deletes every node group clusterctl created in the cluster.
    pub fn all(target: Target) -> Self {
        Self { target, only: None }
    }

    /// Deletes just these node groups.
    pub fn named(target: Target, names: Vec<String>) -> Self {
        Self {
            target,
            only: Some(names),
        }
    }
}

impl Step for DeleteNodegroups {
    fn title(&self) -> String {
        match &self.only {
            Some(names) => format!(
                "Deleting node group {} of {}",
                names.join(", "),
                self.target.cluster
            ),
            None => format!("Deleting the node groups of {}", self.target.cluster),
        }
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let t = &self.target;
            let names = match &self.only {
                Some(names) => {
                    for name in names {
                        if t.aws
                            .eks
                            .describe_nodegroup(&t.cluster, name)
                            .await?
                            .is_none()
                        {
                            return Err(Error::NotFound {
                                what: "node group",
                                name: name.clone(),
                                hint: Some(format!("list them with `clusterctl get nodegroups --provider eks --name {}`", t.cluster)),
                            }
                            .into());
                        }
                    }
                    names.clone()
                }
                None => {
                    if t.aws.eks.describe_cluster(&t.cluster).await?.is_none() {
                        return Ok(());
                    }
                    let mut mine = Vec::new();
                    for name in t.aws.eks.list_nodegroups(&t.cluster).await? {
                        match t.aws.eks.describe_nodegroup(&t.cluster, &name).await? {
                            Some(ng) if names::is_owned(&ng.tags, &t.cluster) => mine.push(name),
                            Some(_) => {
                                return Err(Error::Invalid(format!(
                                    "node group {name} of cluster {} was not created by clusterctl; delete it yourself first \
                                     (`aws eks delete-nodegroup --cluster-name {} --nodegroup-name {name}`), then re-run",
                                    t.cluster, t.cluster
                                ))
                                .into())
                            }
                            None => {}
                        }
                    }
                    mine
                }
            };
            delete_nodegroups(ctx, t, &names).await
        })
    }
}
