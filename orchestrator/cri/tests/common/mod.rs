//! A hermetic node for integration tests: its own containerd (own root, state, socket and config
//! under a temp dir), its own CNI bridge and pod CIDR, and locally built pause and busybox images.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clusterd_cri::{
    api, CniConfig, Containerd, ContainerdConfig, CriRuntime, ImageBuilder, ImageConfig, Runtime,
};

/// The locally built pause image every sandbox runs.
pub const PAUSE_IMAGE: &str = "clusterd.local/pause:test";
/// The locally built busybox image test containers run.
pub const BUSYBOX_IMAGE: &str = "clusterd.local/busybox:test";
/// Where busybox-static installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";
/// What the test image's web server answers.
pub const INDEX_HTML: &str = "hello from the web container\n";

/// Why the real-containerd tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (containerd, runc and CNI need root)".into());
    }
    for tool in [
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/sbin/runc",
        "/usr/lib/cni/bridge",
        BUSYBOX,
    ] {
        if !Path::new(tool).exists() {
            return Some(format!(
                "{tool} is absent (apt-get install containerd runc containernetworking-plugins busybox-static)"
            ));
        }
    }
    None
}

/// Skips the calling test with a message when containerd cannot run here.
#[macro_export]
macro_rules! require_containerd {
    () => {
        if let Some(reason) = common::skip_reason() {
            eprintln!("SKIPPED: {reason}");
            return;
        }
    };
}

/// A running test node. Fields drop in order: containerd stops before its directory goes.
pub struct Node {
    pub containerd: Option<Containerd>,
    pub config: ContainerdConfig,
    pub cni: CniConfig,
    pub bridge: String,
    pub dir: tempfile::TempDir,
}

impl Node {
    /// Starts containerd with CNI config for `pod_cidr` on bridge `bridge`, and imports the images.
    pub async fn start(bridge: &str, pod_cidr: &str) -> Node {
        let mut dir = tempfile::Builder::new()
            .prefix("clusterd-cri-")
            .tempdir()
            .unwrap();
        // Set CLUSTERD_CRI_KEEP_TEST_DIR=1 to keep containerd's config, log and state for debugging.
        dir.disable_cleanup(std::env::var_os("CLUSTERD_CRI_KEEP_TEST_DIR").is_some());
        let config = ContainerdConfig::under(dir.path(), PAUSE_IMAGE);
        let mut cni = CniConfig::new(pod_cidr.parse().unwrap());
        cni.network_name = format!("clusterd-{bridge}");
        cni.bridge = bridge.to_owned();
        cni.ipam_data_dir = Some(dir.path().join("cni-ipam"));
        cni.write(&config.cni_conf_dir).unwrap();

        let containerd = Containerd::ensure(&config).await.unwrap();
        let config = config.clone();
        assert!(
            containerd.pid().is_some(),
            "the test's containerd must be started by the test"
        );
        let node = Node {
            containerd: Some(containerd),
            config,
            cni,
            bridge: bridge.to_owned(),
            dir,
        };
        node.import(&pause_image(), PAUSE_IMAGE).await;
        node.import(&busybox_image(), BUSYBOX_IMAGE).await;
        node
    }

    pub fn runtime(&self) -> &CriRuntime {
        self.containerd.as_ref().unwrap().runtime()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn import(&self, image: &ImageBuilder, name: &str) {
        let archive = self
            .path()
            .join(format!("{}.tar", name.replace(['/', ':'], "_")));
        image.write_docker_archive(&archive).unwrap();
        self.runtime().import_image(&archive, name).await.unwrap();
    }

    /// The directory a pod's logs go to (created, as kubelet does).
    pub fn log_dir(&self, pod: &str) -> PathBuf {
        let dir = self.path().join("pods").join(pod);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Stops containerd and removes the bridge the CNI plugin created.
    pub async fn stop(mut self) {
        if let Some(containerd) = self.containerd.take() {
            containerd.shutdown().await.unwrap();
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .output();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // A failed test leaves pods behind: remove them (CNI DEL included) while containerd still
        // runs; its handle then stops it. Drop cannot await, so this runs on its own runtime.
        if let Some(containerd) = &self.containerd {
            let socket = containerd.socket().to_owned();
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(remove_all_pods(&socket));
                }
            })
            .join();
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .output();
    }
}

async fn remove_all_pods(socket: &Path) {
    let Ok(runtime) = CriRuntime::connect(socket).await else {
        return;
    };
    for sandbox in runtime.list_pod_sandboxes(None).await.unwrap_or_default() {
        let _ = runtime.stop_pod_sandbox(&sandbox.id).await;
        let _ = runtime.remove_pod_sandbox(&sandbox.id).await;
    }
}

/// The pause image: the crate's own `clusterd-pause` binary and its libraries.
pub fn pause_image() -> ImageBuilder {
    let mut image = ImageBuilder::new(PAUSE_IMAGE).unwrap();
    image
        .binary_with_libraries(Path::new(env!("CARGO_BIN_EXE_clusterd-pause")), "/pause")
        .unwrap();
    image.config(ImageConfig {
        entrypoint: vec!["/pause".into()],
        ..Default::default()
    });
    image
}

/// A busybox image with a page to serve at /www.
pub fn busybox_image() -> ImageBuilder {
    let mut image = ImageBuilder::new(BUSYBOX_IMAGE).unwrap();
    image.copy(BUSYBOX, "/bin/busybox", 0o755);
    for applet in [
        "sh", "echo", "cat", "sleep", "httpd", "wget", "nc", "ls", "ps", "ip", "hostname", "true",
    ] {
        image.symlink(&format!("/bin/{applet}"), "busybox");
    }
    image.file("/www/index.html", INDEX_HTML, 0o644);
    image.dir("/tmp", 0o1777);
    image.config(ImageConfig {
        cmd: vec!["sh".into()],
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    });
    image
}

/// A sandbox config for pod `name` with its logs under `log_dir`.
pub fn sandbox_config(name: &str, log_dir: &Path) -> api::PodSandboxConfig {
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        log_directory: log_dir.display().to_string(),
        labels: HashMap::from([("clusterctl.io/cluster".to_owned(), "cri-test".to_owned())]),
        ..Default::default()
    }
}

/// A busybox container config running `command`.
pub fn container_config(name: &str, command: &[&str]) -> api::ContainerConfig {
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(api::ImageSpec {
            image: BUSYBOX_IMAGE.into(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

/// Creates and starts a container; returns its id.
pub async fn run_container(
    runtime: &CriRuntime,
    sandbox: &str,
    sandbox_config: &api::PodSandboxConfig,
    name: &str,
    command: &[&str],
) -> String {
    let id = runtime
        .create_container(
            sandbox,
            container_config(name, command),
            sandbox_config.clone(),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    id
}

/// Runs `cmd` in a container until it exits 0 (the server may still be starting); returns stdout.
pub async fn exec_until_ok(runtime: &CriRuntime, container: &str, cmd: &[&str]) -> String {
    let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    let mut last = None;
    for _ in 0..50 {
        let output = runtime
            .exec_sync(container, &cmd, Duration::from_secs(10))
            .await
            .unwrap();
        if output.exit_code == 0 {
            return String::from_utf8_lossy(&output.stdout).into_owned();
        }
        last = Some(output);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{cmd:?} in {container} kept failing: {last:?}");
}

/// Output of a host command, for leftover checks.
pub fn host(command: &str, args: &[&str]) -> String {
    let output = Command::new(command).args(args).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}
