//! Checks that Docker answers, the node image is present or can be built, and no foreign
//! container holds a node's name — before anything is changed.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::names;
use crate::node_image::{ImageStatus, NodeImage};
use crate::plan::LocalCluster;
use crate::Error;

/// The first create step; changes nothing.
#[derive(Debug, Clone)]
pub struct Preflight {
    cluster: LocalCluster,
}

impl Preflight {
    /// Preflight for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }
}

/// Whether `program` is an executable file on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

impl Step for Preflight {
    fn title(&self) -> String {
        "Checking Docker and the node image".to_owned()
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let docker = self.cluster.docker.as_ref();
            let info = docker.info().await?;
            ctx.progress(format!(
                "Docker {} (API {}), cgroup v{} ({})",
                info.version, info.api_version, info.cgroup_version, info.cgroup_driver
            ));

            let image = &self.cluster.image;
            match NodeImage::status(docker, image).await? {
                ImageStatus::Current(_) => {}
                ImageStatus::Missing if !image.is_buildable() => {
                    return Err(Error::ImageMissing {
                        reference: image.reference.clone(),
                    }
                    .into());
                }
                ImageStatus::Missing | ImageStatus::Stale { .. } => {
                    if !image.cache.contains(&image.recipe, &image.mirror)
                        && !on_path("debootstrap")
                    {
                        return Err(Error::Invalid(format!(
                            "node image {} must be built and needs `debootstrap`, which is not installed; \
                             install it with `apt-get install debootstrap` (scripts/setup-docker does)",
                            image.reference
                        ))
                        .into());
                    }
                    ctx.progress(format!("node image {} will be built", image.reference));
                }
            }

            for (role, index) in self.cluster.containers() {
                let name = self.cluster.node_name(role, index);
                if let Some(found) = docker.inspect_container(&name).await? {
                    if !names::belongs_to(&found.labels, &self.cluster.name) {
                        return Err(Error::NotOwned {
                            what: "container",
                            name,
                            cluster: self.cluster.name.clone(),
                        }
                        .into());
                    }
                }
            }
            Ok(())
        })
    }
}
