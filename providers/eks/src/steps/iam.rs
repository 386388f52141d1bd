//! Step 2: the IAM roles for the control plane and the nodes, with the managed policies EKS
//! needs — or existing role ARNs from the config. Also the roles part of `delete`.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::Target;
use crate::names::{self, RoleKind};
use crate::{Error, Result};

/// The role ARNs later steps use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles {
    /// The control plane's role.
    pub cluster: String,
    /// The nodes' role.
    pub node: String,
}

/// Creates (or adopts) the two roles.
#[derive(Debug)]
pub struct CreateRoles {
    target: Target,
    service_role_arn: Option<String>,
    node_role_arn: Option<String>,
}

impl CreateRoles {
    /// The step; given ARNs are used as they are.
    pub fn new(
        target: Target,
        service_role_arn: Option<String>,
        node_role_arn: Option<String>,
    ) -> Self {
        Self {
            target,
            service_role_arn,
            node_role_arn,
        }
    }

    fn given(&self, kind: RoleKind) -> Option<&String> {
        match kind {
            RoleKind::Cluster => self.service_role_arn.as_ref(),
            RoleKind::Node => self.node_role_arn.as_ref(),
        }
    }

    /// The role's ARN if it exists and has its policies; errors if the name is taken by a role
    /// clusterctl did not make. `None` under dry-run.
    async fn existing(&self, ctx: &Ctx, kind: RoleKind) -> Result<Option<(String, Vec<String>)>> {
        if ctx.is_dry_run() {
            return Ok(None);
        }
        let name = names::role_name(&self.target.cluster, kind)?;
        let Some(role) = self.target.aws.iam.get_role(&name).await? else {
            return Ok(None);
        };
        if !names::is_owned(&role.tags, &self.target.cluster) {
            return Err(Error::NotOwned {
                what: "IAM role",
                name,
                cluster: self.target.cluster.clone(),
            });
        }
        let attached = self.target.aws.iam.attached_policies(&name).await?;
        Ok(Some((role.arn, attached)))
    }

    async fn ensure(&self, ctx: &Ctx, kind: RoleKind) -> Result<String> {
        if let Some(arn) = self.given(kind) {
            return Ok(arn.clone());
        }
        let name = names::role_name(&self.target.cluster, kind)?;
        let iam = &self.target.aws.iam;
        let host = self.target.host();
        let (arn, attached) = match self.existing(ctx, kind).await? {
            Some(found) => found,
            None => {
                let tags = self.target.tags_for(&format!("role-{}", kind.as_str()));
                let policy = kind.trust_policy();
                let created = ctx
                    .wet(
                        &host,
                        format!("create IAM role {name} (assumed by {})", kind.principal()),
                        iam.create_role(&name, &policy, &tags),
                    )
                    .await?;
                (
                    created
                        .map(|r| r.arn)
                        .unwrap_or_else(|| format!("<arn of {name}>")),
                    Vec::new(),
                )
            }
        };
        for policy in kind.policies() {
            if !attached.iter().any(|a| a == policy) {
                ctx.wet(
                    &host,
                    format!("attach {policy} to IAM role {name}"),
                    iam.attach_policy(&name, policy),
                )
                .await?;
            }
        }
        Ok(arn)
    }
}

impl Step for CreateRoles {
    fn title(&self) -> String {
        match (&self.service_role_arn, &self.node_role_arn) {
            (Some(_), Some(_)) => "Using the given IAM roles for the cluster and nodes".to_owned(),
            _ => "Creating IAM roles for the cluster and nodes with the EKS managed policies"
                .to_owned(),
        }
    }

    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let mut roles = Roles::default();
            for kind in RoleKind::ALL {
                let arn = match self.given(kind) {
                    Some(arn) => arn.clone(),
                    None => match self.existing(ctx, kind).await? {
                        Some((arn, attached))
                            if kind
                                .policies()
                                .iter()
                                .all(|p| attached.iter().any(|a| a == p)) =>
                        {
                            arn
                        }
                        _ => return Ok(false),
                    },
                };
                match kind {
                    RoleKind::Cluster => roles.cluster = arn,
                    RoleKind::Node => roles.node = arn,
                }
            }
            ctx.extensions().insert(roles);
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let roles = Roles {
                cluster: self.ensure(ctx, RoleKind::Cluster).await?,
                node: self.ensure(ctx, RoleKind::Node).await?,
            };
            ctx.extensions().insert(roles);
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            delete_roles(ctx, &self.target).await?;
            Ok(())
        })
    }
}

/// Deletes the roles clusterctl made for the cluster (only those tagged as owned by it);
/// returns how many.
pub async fn delete_roles(ctx: &Ctx, target: &Target) -> Result<usize> {
    let iam = &target.aws.iam;
    let host = target.host();
    let mut deleted = 0;
    for kind in RoleKind::ALL {
        let name = names::role_name(&target.cluster, kind)?;
        let Some(role) = iam.get_role(&name).await? else {
            continue;
        };
        if !names::is_owned(&role.tags, &target.cluster) {
            ctx.progress(format!(
                "IAM role {name} was not created by clusterctl; leaving it"
            ));
            continue;
        }
        for policy in iam.attached_policies(&name).await? {
            ctx.wet(
                &host,
                format!("detach {policy} from IAM role {name}"),
                iam.detach_policy(&name, &policy),
            )
            .await?;
        }
        ctx.wet(
            &host,
            format!("delete IAM role {name}"),
            iam.delete_role(&name),
        )
        .await?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Deletes the cluster's roles (a step of `delete`).
#[derive(Debug)]
pub struct DeleteRoles {
    target: Target,
}

impl DeleteRoles {
    /// The step.
    pub fn new(target: Target) -> Self {
        Self { target }
    }
}

impl Step for DeleteRoles {
    fn title(&self) -> String {
        format!(
            "Deleting the IAM roles clusterctl created for {}",
            self.target.cluster
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            delete_roles(ctx, &self.target).await?;
            Ok(())
        })
    }
}
