//! [`IamApi`] over `aws-sdk-iam`.

use aws_sdk_iam::types::{Role, Tag};
use aws_sdk_iam::Client;
use clusterctl_steps::BoxFuture;

use crate::api::{IamApi, RoleInfo, Tags};
use crate::error::from_sdk;
use crate::Result;

/// The IAM client.
#[derive(Debug, Clone)]
pub struct SdkIam {
    client: Client,
}

impl SdkIam {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// What clusterctl keeps of an SDK `Role`.
pub fn role_info(role: &Role) -> RoleInfo {
    RoleInfo {
        name: role.role_name().to_owned(),
        arn: role.arn().to_owned(),
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
    }
}

impl IamApi for SdkIam {
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RoleInfo>>> {
        Box::pin(async move {
            match self.client.get_role().role_name(name).send().await {
                Ok(out) => Ok(out.role().map(role_info)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(from_sdk("iam:GetRole", name, e)),
            }
        })
    }

    fn create_role<'a>(
        &'a self,
        name: &'a str,
        trust_policy: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<RoleInfo>> {
        Box::pin(async move {
            let tags = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| crate::Error::Invalid(format!("tag for role {name}: {e}")))?;
            let out = self
                .client
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust_policy)
                .description("Created by clusterctl for an EKS cluster")
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| from_sdk("iam:CreateRole", name, e))?;
            Ok(out.role().map(role_info).unwrap_or_default())
        })
    }

    fn attached_policies<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let out = self
                .client
                .list_attached_role_policies()
                .role_name(role)
                .send()
                .await
                .map_err(|e| from_sdk("iam:ListAttachedRolePolicies", role, e))?;
            Ok(out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect())
        })
    }

    fn attach_policy<'a>(
        &'a self,
        role: &'a str,
        policy_arn: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .attach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| {
                    from_sdk(
                        "iam:AttachRolePolicy",
                        &format!("{policy_arn} to {role}"),
                        e,
                    )
                })?;
            Ok(())
        })
    }

    fn detach_policy<'a>(
        &'a self,
        role: &'a str,
        policy_arn: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .detach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| {
                    from_sdk(
                        "iam:DetachRolePolicy",
                        &format!("{policy_arn} from {role}"),
                        e,
                    )
                })?;
            Ok(())
        })
    }

    fn delete_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| from_sdk("iam:DeleteRole", name, e))?;
            Ok(())
        })
    }
}
