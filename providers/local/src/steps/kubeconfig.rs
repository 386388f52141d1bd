//! The `local-<cluster>` context in the user's kubeconfig: merged at the end of `create`
//! (and made current), removed by `delete`.

use std::path::{Path, PathBuf};

use clusterctl_kubeconfig::{context_name, CurrentContext, Store};
use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::admin::{self, AdminCredentials};
use crate::plan::LocalCluster;
use crate::Error;

/// Merges the cluster's admin context into the user's kubeconfig and makes it current.
#[derive(Debug, Clone)]
pub struct WriteKubeconfig {
    cluster: LocalCluster,
    file: Option<PathBuf>,
}

impl WriteKubeconfig {
    /// The step; `file` is `--kubeconfig` (else `$KUBECONFIG`, else `~/.kube/config`).
    pub fn new(cluster: LocalCluster, file: Option<PathBuf>) -> Self {
        Self { cluster, file }
    }

    fn context(&self) -> String {
        context_name("local", &self.cluster.name)
    }
}

impl Step for WriteKubeconfig {
    fn title(&self) -> String {
        format!("Writing kubeconfig context {}", self.context())
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let store = Store::open(self.file.as_deref()).map_err(Error::from)?;
            let target = store.location().write_target().display().to_string();
            let write = async {
                let credentials = match ctx.extensions().get::<AdminCredentials>() {
                    Some(credentials) => credentials,
                    None => admin::read(self.cluster.docker.clone(), &self.cluster.name).await?,
                };
                store.upsert(&credentials.entry(), CurrentContext::Switch)?;
                Ok::<(), Error>(())
            };
            ctx.wet(
                &target,
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

/// Removes `context` (and its cluster and user) from the kubeconfig, if present.
pub async fn remove_context(ctx: &Ctx, file: Option<&Path>, context: &str) -> StepResult {
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

/// Removes the cluster's context (part of `delete`).
#[derive(Debug, Clone)]
pub struct RemoveKubeconfig {
    cluster: String,
    file: Option<PathBuf>,
}

impl RemoveKubeconfig {
    /// The step for `cluster`; `file` as for [`WriteKubeconfig`].
    pub fn new(cluster: impl Into<String>, file: Option<PathBuf>) -> Self {
        Self {
            cluster: cluster.into(),
            file,
        }
    }

    fn context(&self) -> String {
        context_name("local", &self.cluster)
    }
}

impl Step for RemoveKubeconfig {
    fn title(&self) -> String {
        format!("Removing kubeconfig context {}", self.context())
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let store = Store::open(self.file.as_deref()).map_err(Error::from)?;
            let contexts = store.contexts().map_err(Error::from)?;
            Ok(!contexts.contains(&self.context()))
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move { remove_context(ctx, self.file.as_deref(), &self.context()).await })
    }
}
