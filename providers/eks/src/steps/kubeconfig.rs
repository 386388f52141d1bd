//! Step 5: the kubeconfig context — the cluster's endpoint and CA, and a user whose exec plugin
//! is `clusterctl token --provider eks --cluster <name> --region <region>` — merged like every
//! other provider's.

use std::path::PathBuf;

use clusterctl_kubeconfig::{
    context_name, Cluster, CurrentContext, Entry, ExecConfig, Store, User,
};
use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::Target;
use crate::api::ClusterInfo;
use crate::{Error, Result};

/// How the kubeconfig user calls the token plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCommand {
    /// The program, `clusterctl` unless told otherwise.
    pub command: String,
    /// `--role-arn` to pass on, if any.
    pub role_arn: Option<String>,
}

impl Default for TokenCommand {
    fn default() -> Self {
        Self {
            command: "clusterctl".to_owned(),
            role_arn: None,
        }
    }
}

/// The kubeconfig entry for an ACTIVE cluster in `region`.
pub fn entry(cluster: &ClusterInfo, region: &str, token: &TokenCommand) -> Result<Entry> {
    let endpoint = cluster.endpoint.clone().ok_or_else(|| {
        Error::Invalid(format!(
            "EKS cluster {} has no endpoint yet (status {})",
            cluster.name, cluster.status
        ))
    })?;
    let mut args = vec![
        "token".to_owned(),
        "--provider".to_owned(),
        "eks".to_owned(),
        "--cluster".to_owned(),
        cluster.name.clone(),
        "--region".to_owned(),
        region.to_owned(),
    ];
    if let Some(role) = &token.role_arn {
        args.extend(["--role-arn".to_owned(), role.clone()]);
    }
    let mut exec = ExecConfig::new(token.command.clone(), args);
    if let Ok(profile) = std::env::var("AWS_PROFILE") {
        exec = exec.with_env("AWS_PROFILE", profile);
    }
    // EKS already hands out the CA bundle base64-encoded, as kubeconfig stores it.
    let server = Cluster {
        certificate_authority_data: cluster.certificate_authority.clone(),
        server: endpoint,
        ..Cluster::default()
    };
    Ok(Entry::new(
        context_name("eks", &cluster.name),
        server,
        User::exec(exec),
    ))
}

/// Fetches the cluster and builds its entry.
pub async fn fetch_entry(target: &Target, token: &TokenCommand) -> Result<Entry> {
    let cluster = target
        .aws
        .eks
        .describe_cluster(&target.cluster)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "EKS cluster",
            name: target.cluster.clone(),
            hint: Some(format!(
                "check the name and --region ({}); `clusterctl get clusters --provider eks --region {}` lists them",
                target.aws.region, target.aws.region
            )),
        })?;
    entry(&cluster, &target.aws.region, token)
}

/// Merges the cluster's context into the user's kubeconfig and makes it current.
#[derive(Debug)]
pub struct WriteKubeconfig {
    target: Target,
    file: Option<PathBuf>,
    token: TokenCommand,
}

impl WriteKubeconfig {
    /// The step; `file` is `--kubeconfig` (else `$KUBECONFIG`, else `~/.kube/config`).
    pub fn new(target: Target, file: Option<PathBuf>, token: TokenCommand) -> Self {
        Self {
            target,
            file,
            token,
        }
    }

    fn context(&self) -> String {
        context_name("eks", &self.target.cluster)
    }
}

impl Step for WriteKubeconfig {
    fn title(&self) -> String {
        format!("Writing kubeconfig context {}", self.context())
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let store = Store::open(self.file.as_deref()).map_err(Error::from)?;
            let file = store.location().write_target().display().to_string();
            let write = async {
                let entry = fetch_entry(&self.target, &self.token).await?;
                store.upsert(&entry, CurrentContext::Switch)?;
                Ok::<(), Error>(())
            };
            ctx.wet(
                &file,
                format!("merge context {} and make it current", self.context()),
                write,
            )
            .await?;
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move { remove_context(ctx, self.file.as_deref(), &self.context()).await })
    }
}

/// Removes a context (and its cluster and user) from the kubeconfig, if present.
pub async fn remove_context(
    ctx: &Ctx,
    file: Option<&std::path::Path>,
    context: &str,
) -> StepResult {
    let store = Store::open(file).map_err(Error::from)?;
    if !store
        .contexts()
        .map_err(Error::from)?
        .iter()
        .any(|c| c == context)
    {
        return Ok(());
    }
    let target = store.location().write_target().display().to_string();
    ctx.wet(&target, format!("remove context {context}"), async {
        store.remove(context)
    })
    .await?;
    Ok(())
}

/// Removes the cluster's context (the last step of `delete`).
#[derive(Debug)]
pub struct RemoveKubeconfig {
    cluster: String,
    file: Option<PathBuf>,
}

impl RemoveKubeconfig {
    /// The step.
    pub fn new(cluster: impl Into<String>, file: Option<PathBuf>) -> Self {
        Self {
            cluster: cluster.into(),
            file,
        }
    }
}

impl Step for RemoveKubeconfig {
    fn title(&self) -> String {
        format!(
            "Removing kubeconfig context {}",
            context_name("eks", &self.cluster)
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            remove_context(
                ctx,
                self.file.as_deref(),
                &context_name("eks", &self.cluster),
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_user_runs_clusterctl_token_for_the_cluster_and_region() {
        let cluster = ClusterInfo {
            name: "my-cluster".into(),
            status: "ACTIVE".into(),
            endpoint: Some("https://ABC.gr7.us-west-2.eks.amazonaws.com".into()),
            certificate_authority: Some("TFMwdA==".into()),
            ..ClusterInfo::default()
        };
        let entry = entry(&cluster, "us-west-2", &TokenCommand::default()).unwrap();
        let text = clusterctl_kubeconfig::render_standalone(&entry).unwrap();
        assert!(
            text.contains("certificate-authority-data: TFMwdA=="),
            "{text}"
        );
        assert!(text.contains("command: clusterctl"), "{text}");
        for arg in ["token", "--cluster", "my-cluster", "--region", "us-west-2"] {
            assert!(text.contains(&format!("- {arg}")), "missing {arg}:\n{text}");
        }
        assert!(
            text.contains("client.authentication.k8s.io/v1beta1"),
            "{text}"
        );
    }

    #[test]
    fn a_cluster_without_endpoint_has_no_entry_yet() {
        let cluster = ClusterInfo {
            name: "c".into(),
            status: "CREATING".into(),
            ..ClusterInfo::default()
        };
        let err = entry(&cluster, "us-west-2", &TokenCommand::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("CREATING"), "{err}");
    }
}
