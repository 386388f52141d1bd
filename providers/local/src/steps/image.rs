//! Builds the node image when it is missing or was built from another recipe.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::node_image::{ImageStatus, NodeImage};
use crate::plan::LocalCluster;

/// Makes sure the node image is in Docker; the image is shared by every cluster, so it is kept
/// on cleanup.
#[derive(Debug, Clone)]
pub struct EnsureNodeImage {
    cluster: LocalCluster,
}

impl EnsureNodeImage {
    /// The step for `cluster`'s image.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }
}

impl Step for EnsureNodeImage {
    fn title(&self) -> String {
        format!("Preparing node image {}", self.cluster.image.reference)
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let status =
                NodeImage::status(self.cluster.docker.as_ref(), &self.cluster.image).await?;
            Ok(matches!(status, ImageStatus::Current(_)))
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let image = &self.cluster.image;
            let progress = |line: String| ctx.progress(line);
            let built = ctx
                .wet(
                    "docker",
                    format!("build node image {}", image.reference),
                    NodeImage::ensure(self.cluster.docker.as_ref(), image, &progress),
                )
                .await?;
            if let Some(Some(report)) = built {
                ctx.progress(format!(
                    "built {} in {:.1}s ({} root filesystem)",
                    report.reference,
                    report.elapsed.as_secs_f64(),
                    if report.rootfs_cached {
                        "cached"
                    } else {
                        "new"
                    }
                ));
            }
            Ok(())
        })
    }
}
