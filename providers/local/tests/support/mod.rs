//! Shared helpers of the real-Docker tests: connecting, unique cluster names, a busybox test
//! image made from the host's static busybox, and cleanup by label even when a test panics.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clusterctl_provider_local::docker::{DockerApi, Engine, ImageStream};
use clusterctl_provider_local::node_image::NodeImageSpec;
use clusterctl_provider_local::NodeImage;

/// The Docker client, or `None` (with a message) when Docker is not installed on this machine.
/// Installed but not answering is a failure: `scripts/setup-docker` starts it.
pub async fn docker() -> Option<Arc<Engine>> {
    if !Path::new("/usr/bin/docker").exists()
        && !Path::new("/usr/local/bin/docker").exists()
        && !Path::new("/usr/sbin/dockerd").exists()
    {
        eprintln!(
            "SKIPPED: Docker is not installed on this machine (scripts/setup-docker installs it)"
        );
        return None;
    }
    match Engine::connect().await {
        Ok(engine) => Some(Arc::new(engine)),
        Err(error) => panic!("{error}"),
    }
}

/// A cluster name unique to this test process and call: `t<pid>-<n>-<purpose>`.
pub fn unique_name(purpose: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}-{}-{purpose}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes everything labelled for `cluster` with the docker CLI when dropped, so a failing
/// test leaves nothing behind.
pub struct CleanupGuard {
    pub cluster: String,
    pub extra_containers: Vec<String>,
    pub extra_networks: Vec<String>,
    pub extra_volumes: Vec<String>,
    pub extra_images: Vec<String>,
}

impl CleanupGuard {
    pub fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
            extra_containers: Vec::new(),
            extra_networks: Vec::new(),
            extra_volumes: Vec::new(),
            extra_images: Vec::new(),
        }
    }
}

fn docker_cli(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        let filter = format!("label=clusterctl.io/cluster={}", self.cluster);
        let mut containers: Vec<String> = docker_cli(&["ps", "-aq", "--filter", &filter])
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        containers.extend(self.extra_containers.iter().cloned());
        for container in containers {
            docker_cli(&["rm", "-fv", &container]);
        }
        let mut volumes: Vec<String> = docker_cli(&["volume", "ls", "-q", "--filter", &filter])
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        volumes.extend(self.extra_volumes.iter().cloned());
        for volume in volumes {
            docker_cli(&["volume", "rm", "-f", &volume]);
        }
        let mut networks: Vec<String> = docker_cli(&["network", "ls", "-q", "--filter", &filter])
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        networks.extend(self.extra_networks.iter().cloned());
        for network in networks {
            docker_cli(&["network", "rm", &network]);
        }
        for image in &self.extra_images {
            docker_cli(&["rmi", "-f", image]);
        }
    }
}

/// The host's static busybox, or `None` with a message (`scripts/setup-docker` installs
/// busybox-static).
pub fn host_busybox() -> Option<PathBuf> {
    let found = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file());
    if found.is_none() {
        eprintln!("SKIPPED: no static busybox on this machine (apt-get install busybox-static; scripts/setup-docker does)");
    }
    found
}

/// A root filesystem tar with busybox as `/bin/busybox` and `/bin/sh`.
pub fn busybox_rootfs(busybox: &Path) -> Vec<u8> {
    let bytes = std::fs::read(busybox).expect("read busybox");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o755);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "bin/busybox", bytes.as_slice())
        .unwrap();
    for applet in [
        "sh",
        "sleep",
        "cat",
        "echo",
        "ls",
        "mkdir",
        "mv",
        "sha256sum",
    ] {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        link.set_mode(0o777);
        builder
            .append_link(&mut link, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// A stream over bytes in memory.
pub fn stream_of(bytes: Vec<u8>) -> ImageStream {
    Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from(bytes))]))
}

/// Imports a busybox image as `reference` (for containers that are not nodes).
pub async fn busybox_image(docker: &dyn DockerApi, busybox: &Path, reference: &str) {
    let changes = vec![r#"CMD ["/bin/sh"]"#.to_owned()];
    docker
        .import_image(reference, &changes, stream_of(busybox_rootfs(busybox)))
        .await
        .expect("import busybox test image");
}

/// Builds the default node image unless a current one is in Docker, once per test binary.
pub async fn node_image(docker: &dyn DockerApi) -> NodeImageSpec {
    static BUILT: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);
    let spec = NodeImageSpec::default();
    let mut built = BUILT.lock().await;
    if !*built {
        let started = std::time::Instant::now();
        let report = NodeImage::ensure(docker, &spec, &|line| eprintln!("node image: {line}"))
            .await
            .expect("build the node image");
        match report {
            Some(report) => eprintln!(
                "node image {} built in {:.1}s (rootfs cached: {})",
                report.reference,
                report.elapsed.as_secs_f64(),
                report.rootfs_cached
            ),
            None => eprintln!(
                "node image {} already current ({:.1}s to check)",
                spec.reference,
                started.elapsed().as_secs_f64()
            ),
        }
        *built = true;
    }
    spec
}
