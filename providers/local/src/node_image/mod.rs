//! The node image every local node runs: Debian bookworm (debootstrap, minbase) with containerd,
//! runc, the CNI plugins and iptables, tini as PID 1 and the entrypoint from
//! `templates/node-image/`, imported into Docker as `clusterctl/node:<tag>`. No registry is needed.
//!
//! The image carries two labels: [`VERSION_LABEL`] (the clusterctl version that built it) and
//! [`RECIPE_LABEL`] (the hash of everything that went in), so `create` can tell whether the image
//! it finds is current or must be rebuilt.

pub mod recipe;
pub mod rootfs;
pub mod stream;

use std::time::{Duration, Instant};

pub use recipe::Recipe;
pub use rootfs::RootfsCache;

use crate::docker::{DockerApi, ImageInfo};
use crate::{Error, Result};

/// Label naming the clusterctl version that built a node image.
pub const VERSION_LABEL: &str = "clusterctl.io/node-image-version";
/// Label carrying the hash of the recipe a node image was built from.
pub const RECIPE_LABEL: &str = "clusterctl.io/recipe-hash";
/// Repository of node images.
pub const REPOSITORY: &str = "clusterctl/node";

/// Receives progress lines during a build ("Retrieving containerd 1.6.20").
pub type Progress<'a> = dyn Fn(String) + Send + Sync + 'a;

/// The Docker image config of a node (`docker import --change` lines, labels excluded). Docker
/// 20.10 accepts only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME and WORKDIR here.
pub fn image_config() -> Vec<String> {
    vec![
        format!(
            r#"ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/{}"]"#,
            recipe::ENTRYPOINT_PATH
        ),
        "ENV container=docker".to_owned(),
    ]
}

/// The node image `create` uses when the config names none (the config crate's default for
/// Kubernetes 1.32).
pub const DEFAULT_REFERENCE: &str = "clusterctl/node:v1.32";

/// What to build: the image reference, the recipe, the Debian mirror and the rootfs cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImageSpec {
    /// Image reference, `clusterctl/node:<tag>`.
    pub reference: String,
    /// What goes in.
    pub recipe: Recipe,
    /// Debian mirror for debootstrap.
    pub mirror: String,
    /// Where root filesystems are cached.
    pub cache: RootfsCache,
}

impl Default for NodeImageSpec {
    /// [`DEFAULT_REFERENCE`] from the bundled recipe and deb.debian.org, cached in
    /// `~/.cache/clusterctl/node-rootfs`.
    fn default() -> Self {
        Self {
            reference: DEFAULT_REFERENCE.to_owned(),
            recipe: Recipe::bundled(),
            mirror: recipe::DEFAULT_MIRROR.to_owned(),
            cache: RootfsCache::default_location(),
        }
    }
}

impl NodeImageSpec {
    /// The default spec for image `reference`.
    pub fn for_reference(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
            ..Self::default()
        }
    }

    /// Whether clusterctl builds this image (a `clusterctl/node:` reference); any other image
    /// named in a config must already be in Docker.
    pub fn is_buildable(&self) -> bool {
        self.reference.starts_with(&format!("{REPOSITORY}:"))
    }

    /// The value the image's [`RECIPE_LABEL`] must have to be current.
    pub fn recipe_hash(&self) -> String {
        self.recipe.hash(&self.mirror)
    }
}

/// Whether the node image in Docker can be used as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStatus {
    /// No image with that reference.
    Missing,
    /// Present, but built from another recipe (its recipe hash, if labelled).
    Stale {
        /// The recipe hash the image carries.
        found: Option<String>,
    },
    /// Present and built from this recipe.
    Current(ImageInfo),
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// The image reference.
    pub reference: String,
    /// The image id.
    pub id: String,
    /// Whether the root filesystem came from the cache (a warm build).
    pub rootfs_cached: bool,
    /// Wall time of the build.
    pub elapsed: Duration,
}

/// Builds and checks node images.
#[derive(Debug, Clone, Copy)]
pub struct NodeImage;

impl NodeImage {
    /// Whether `spec`'s image is present in Docker and built from its recipe.
    pub async fn status(docker: &dyn DockerApi, spec: &NodeImageSpec) -> Result<ImageStatus> {
        let Some(image) = docker.inspect_image(&spec.reference).await? else {
            return Ok(ImageStatus::Missing);
        };
        let found = image.labels.get(RECIPE_LABEL).cloned();
        // An image the user brought is used as it is.
        if !spec.is_buildable() || found.as_deref() == Some(spec.recipe_hash().as_str()) {
            Ok(ImageStatus::Current(image))
        } else {
            Ok(ImageStatus::Stale { found })
        }
    }

    /// Builds the image: the Debian rootfs (from the cache, or debootstrap on first use, which
    /// needs root and the `debootstrap` package), the recipe's files on top, imported into
    /// Docker as [`NodeImageSpec::reference`] with the version and recipe labels.
    pub async fn build(
        docker: &dyn DockerApi,
        spec: &NodeImageSpec,
        progress: &Progress<'_>,
    ) -> Result<BuildReport> {
        let started = Instant::now();
        let (tarball, rootfs_cached) = spec
            .cache
            .ensure(&spec.recipe, &spec.mirror, progress)
            .await?;
        let reference = spec.reference.clone();
        progress(format!("importing {reference} into Docker"));
        let mut changes = image_config();
        changes.push(format!(
            "LABEL {VERSION_LABEL}={}",
            env!("CARGO_PKG_VERSION")
        ));
        changes.push(format!("LABEL {RECIPE_LABEL}={}", spec.recipe_hash()));
        let archive = stream::rootfs_with_overlay(tarball, spec.recipe.overlay.clone());
        let id = docker.import_image(&reference, &changes, archive).await?;
        tracing::info!(image = %reference, %id, rootfs_cached, "node image built");
        Ok(BuildReport {
            reference,
            id,
            rootfs_cached,
            elapsed: started.elapsed(),
        })
    }

    /// Builds the image unless a current one is present; returns the build report when it built.
    pub async fn ensure(
        docker: &dyn DockerApi,
        spec: &NodeImageSpec,
        progress: &Progress<'_>,
    ) -> Result<Option<BuildReport>> {
        match Self::status(docker, spec).await? {
            ImageStatus::Current(_) => Ok(None),
            ImageStatus::Missing if !spec.is_buildable() => Err(Error::ImageMissing {
                reference: spec.reference.clone(),
            }),
            ImageStatus::Missing | ImageStatus::Stale { .. } => {
                Self::build(docker, spec, progress).await.map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{Call, FakeDocker, Labels};

    fn spec_with_cached_rootfs(dir: &std::path::Path) -> NodeImageSpec {
        let spec = NodeImageSpec {
            reference: "clusterctl/node:test".into(),
            cache: RootfsCache::new(dir),
            ..NodeImageSpec::default()
        };
        let key = RootfsCache::key(&spec.recipe, &spec.mirror);
        let mut builder =
            tar::Builder::new(std::fs::File::create(spec.cache.tarball(&key)).unwrap());
        builder.finish().unwrap();
        spec
    }

    #[tokio::test]
    async fn build_imports_the_image_with_version_and_recipe_labels() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_with_cached_rootfs(dir.path());
        let docker = FakeDocker::new();
        let report = NodeImage::build(&docker, &spec, &|_| {}).await.unwrap();
        assert!(report.rootfs_cached);
        assert_eq!(report.reference, "clusterctl/node:test");
        let Some(Call::ImportImage(reference, changes)) = docker.calls().pop() else {
            panic!("no import: {:?}", docker.calls());
        };
        assert_eq!(reference, "clusterctl/node:test");
        assert!(changes.contains(&format!("LABEL {RECIPE_LABEL}={}", spec.recipe_hash())));
        assert!(changes
            .iter()
            .any(|c| c.starts_with("ENTRYPOINT [\"/usr/bin/tini\"")));
        assert!(matches!(
            NodeImage::status(&docker, &spec).await.unwrap(),
            ImageStatus::Current(_)
        ));
    }

    #[tokio::test]
    async fn an_image_from_another_recipe_is_stale_and_ensure_rebuilds_it() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_with_cached_rootfs(dir.path());
        let docker = FakeDocker::new();
        docker.add_image(
            &spec.reference,
            Labels::from([(RECIPE_LABEL.to_owned(), "old".to_owned())]),
        );
        assert_eq!(
            NodeImage::status(&docker, &spec).await.unwrap(),
            ImageStatus::Stale {
                found: Some("old".into())
            }
        );
        assert!(NodeImage::ensure(&docker, &spec, &|_| {})
            .await
            .unwrap()
            .is_some());
        assert!(
            NodeImage::ensure(&docker, &spec, &|_| {})
                .await
                .unwrap()
                .is_none(),
            "second ensure must reuse"
        );
    }

    #[tokio::test]
    async fn a_missing_image_of_the_users_own_is_an_error_not_a_build() {
        let docker = FakeDocker::new();
        let spec = NodeImageSpec::for_reference("example/node:mine");
        let error = NodeImage::ensure(&docker, &spec, &|_| {})
            .await
            .unwrap_err();
        assert!(error.to_string().contains("example/node:mine"), "{error}");
        docker.add_image("example/node:mine", Labels::new());
        assert!(NodeImage::ensure(&docker, &spec, &|_| {})
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_missing_image_is_reported_missing() {
        let docker = FakeDocker::new();
        let status = NodeImage::status(&docker, &NodeImageSpec::default())
            .await
            .unwrap();
        assert_eq!(status, ImageStatus::Missing);
    }
}
