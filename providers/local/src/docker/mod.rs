//! The narrow seam over the Docker Engine API: only the calls this provider makes, in its own
//! types, so the steps are unit-testable with [`FakeDocker`] and run for real over [`Engine`]
//! (bollard). Methods return boxed futures so steps can hold the client as `Arc<dyn DockerApi>`.

mod engine;
mod fake;
mod models;
mod types;

pub use engine::Engine;
pub use fake::{Call, FakeDocker};
pub use types::{
    CgroupNs, ContainerInfo, ContainerSpec, ContainerState, EngineInfo, ExecOutput, ImageInfo,
    ImageStream, Labels, NetworkInfo, NetworkIpam, PortMapping, VolumeInfo, VolumeMount,
};

use clusterctl_steps::BoxFuture;

use crate::Result;

/// The Docker calls the local provider makes. Every list call filters by labels (`key=value`
/// pairs, all of which must match), which is how clusters are rediscovered.
pub trait DockerApi: Send + Sync + std::fmt::Debug {
    /// Checks the daemon answers and reports what it runs (version, cgroup version).
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo>>;

    /// Creates a bridge network with `labels`, on `ipam`'s subnet when given (else one Docker
    /// picks); returns its id.
    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a Labels,
        ipam: Option<&'a NetworkIpam>,
    ) -> BoxFuture<'a, Result<String>>;
    /// Removes a network; a network that is already gone is not an error.
    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Networks carrying all of `labels`.
    fn list_networks<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<NetworkInfo>>>;

    /// Creates a named volume with `labels` (idempotent: an existing volume is kept).
    fn create_volume<'a>(&'a self, name: &'a str, labels: &'a Labels) -> BoxFuture<'a, Result<()>>;
    /// Removes a volume; a volume that is already gone is not an error.
    fn remove_volume<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Volumes carrying all of `labels`.
    fn list_volumes<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<VolumeInfo>>>;

    /// Creates (does not start) a container; returns its id.
    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> BoxFuture<'a, Result<String>>;
    /// Starts a container; starting a running container is not an error.
    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Stops a container, killing it after `timeout_secs`.
    fn stop_container<'a>(&'a self, name: &'a str, timeout_secs: u32) -> BoxFuture<'a, Result<()>>;
    /// Removes a container by force; a container that is already gone is not an error.
    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// One container, or `None` when there is no container of that name.
    fn inspect_container<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerInfo>>>;
    /// Containers (running or not) carrying all of `labels`.
    fn list_containers<'a>(
        &'a self,
        labels: &'a Labels,
    ) -> BoxFuture<'a, Result<Vec<ContainerInfo>>>;

    /// Runs `argv` inside a running container and collects its output and exit code.
    fn exec<'a>(
        &'a self,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>>;
    /// Runs `argv` inside a running container with `input` streamed to its stdin (`docker exec -i`),
    /// closing stdin at the end of the stream, and collects its output and exit code.
    fn exec_with_input<'a>(
        &'a self,
        container: &'a str,
        argv: &'a [String],
        input: ImageStream,
    ) -> BoxFuture<'a, Result<ExecOutput>>;
    /// The container's stdout and stderr as Docker keeps them (`docker logs`), the last `tail`
    /// lines when given.
    fn logs<'a>(&'a self, container: &'a str, tail: Option<usize>)
        -> BoxFuture<'a, Result<String>>;
    /// Extracts the tar archive `tar` into directory `dir` of the container (not a tmpfs mount).
    fn upload<'a>(
        &'a self,
        container: &'a str,
        dir: &'a str,
        tar: Vec<u8>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Images whose reference matches `reference` (`repo:tag`, or `repo` for every tag).
    fn list_images<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Vec<ImageInfo>>>;
    /// One image, or `None` when it is not present.
    fn inspect_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Option<ImageInfo>>>;
    /// `docker import`: makes image `reference` from a root filesystem tar stream, applying
    /// Dockerfile `changes` (`LABEL …`, `ENTRYPOINT […]`); returns the image id.
    fn import_image<'a>(
        &'a self,
        reference: &'a str,
        changes: &'a [String],
        rootfs: ImageStream,
    ) -> BoxFuture<'a, Result<String>>;
    /// `docker save`: the image as a tar stream (the format `docker load` and `ctr import` read).
    fn save_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ImageStream>>;
    /// `docker load`: loads images from a `docker save` tar stream.
    fn load_image(&self, archive: ImageStream) -> BoxFuture<'_, Result<()>>;
    /// Removes an image; an image that is already gone is not an error.
    fn remove_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<()>>;
}
