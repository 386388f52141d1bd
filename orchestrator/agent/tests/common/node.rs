#![allow(dead_code)]

//! A hermetic node for the real-containerd tests: its own containerd (root, state, socket and
//! config under a temp dir), an empty CNI config dir the agent fills, its own bridge and pod CIDR,
//! and locally built images (nothing is pulled).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clusterd_agent::AgentConfig;
use clusterd_cri::{Containerd, ContainerdConfig, CriRuntime, ImageBuilder, ImageConfig, Runtime};

/// The sandbox image: busybox sleeping (containerd kills sandboxes with SIGKILL).
pub const PAUSE_IMAGE: &str = "clusterd.local/agent-pause:test";
/// The image test containers run.
pub const BUSYBOX_IMAGE: &str = "clusterd.local/agent-busybox:test";
/// What the image's web root serves.
pub const INDEX_HTML: &str = "hello from the agent test\n";
const BUSYBOX: &str = "/bin/busybox";

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
            return Some(format!("{tool} is absent (apt-get install containerd runc containernetworking-plugins busybox-static)"));
        }
    }
    None
}

/// A busybox image; `entrypoint` empty means the image's default (`sh`).
fn busybox(name: &str, entrypoint: &[&str]) -> ImageBuilder {
    let mut image = ImageBuilder::new(name).unwrap();
    image.copy(BUSYBOX, "/bin/busybox", 0o755);
    for applet in [
        "sh", "echo", "cat", "sleep", "httpd", "wget", "nc", "ls", "ps", "ip", "hostname", "true",
        "env", "id", "touch", "kill", "date",
    ] {
        image.symlink(&format!("/bin/{applet}"), "busybox");
    }
    image.file("/www/index.html", INDEX_HTML, 0o644);
    image.dir("/tmp", 0o1777);
    image.config(ImageConfig {
        entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
        cmd: if entrypoint.is_empty() {
            vec!["sh".into()]
        } else {
            Vec::new()
        },
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    });
    image
}

/// A running test node; dropping it removes its pods, stops containerd and deletes the bridge.
pub struct TestNode {
    pub containerd: Option<Containerd>,
    pub config: ContainerdConfig,
    pub bridge: String,
    pub cidr: String,
    pub dir: tempfile::TempDir,
}

impl TestNode {
    /// Starts containerd with no CNI config yet (the agent writes it) and imports the images.
    pub async fn start(bridge: &str, cidr: &str) -> TestNode {
        let dir = tempfile::Builder::new()
            .prefix("clusterd-agent-")
            .tempdir()
            .unwrap();
        let config = ContainerdConfig::under(dir.path(), PAUSE_IMAGE);
        std::fs::create_dir_all(&config.cni_conf_dir).unwrap();
        let containerd = Containerd::ensure(&config).await.unwrap();
        assert!(
            containerd.pid().is_some(),
            "the test's containerd must be started by the test"
        );
        let node = TestNode {
            containerd: Some(containerd),
            config,
            bridge: bridge.into(),
            cidr: cidr.into(),
            dir,
        };
        // The sandbox image is built the way an agent builds it for a containerd it started:
        // from a host executable (busybox's sleep here; `clusterd pause` on a real node).
        let built = clusterd_agent::ensure_pause_image(
            node.runtime(),
            PAUSE_IMAGE,
            Path::new(BUSYBOX),
            "sleep",
            &["2147483647"],
            node.dir.path(),
        )
        .await
        .unwrap();
        assert!(built, "the pause image was missing and got built");
        let archive = node.dir.path().join("busybox.tar");
        busybox(BUSYBOX_IMAGE, &[])
            .write_docker_archive(&archive)
            .unwrap();
        node.runtime()
            .import_image(&archive, BUSYBOX_IMAGE)
            .await
            .unwrap();
        node
    }

    /// The runtime of this node's containerd.
    pub fn runtime(&self) -> &CriRuntime {
        self.containerd.as_ref().unwrap().runtime()
    }

    /// A second connection to this node's containerd, for an agent to own.
    pub async fn connect(&self) -> CriRuntime {
        CriRuntime::connect(&self.config.socket).await.unwrap()
    }

    /// An agent config for node `name` using this node's containerd, bridge and CIDR.
    pub fn agent_config(&self, name: &str) -> AgentConfig {
        let mut config = AgentConfig::new(
            name,
            "127.0.0.1".parse().unwrap(),
            self.dir.path().join("agent"),
        );
        config.pod_cidr = Some(self.cidr.clone());
        config.cni_conf_dir = self.config.cni_conf_dir.clone();
        config.cni_bridge = self.bridge.clone();
        config.cni_network_name = format!("clusterd-{}", self.bridge);
        config.cni_ipam_data_dir = Some(self.dir.path().join("cni-ipam"));
        config.pod_log_dir = self.dir.path().join("logs");
        config.status_interval = Duration::from_secs(2);
        config.sync_interval = Duration::from_millis(200);
        config.initial_backoff = Duration::from_secs(1);
        config.max_backoff = Duration::from_secs(4);
        config
    }

    /// Stops containerd and removes the bridge.
    pub async fn stop(mut self) {
        remove_all_pods(&self.config.socket).await;
        if let Some(containerd) = self.containerd.take() {
            containerd.shutdown().await.unwrap();
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .output();
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if self.containerd.is_some() {
            let socket = self.config.socket.clone();
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
        // A failed test may leave memory-backed emptyDirs mounted under the temp dir.
        let prefix = format!("{}/", self.dir.path().display());
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        for target in mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|t| t.starts_with(&prefix))
        {
            let _ = Command::new("umount").arg(target).output();
        }
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

/// Output of a host command.
pub fn host(command: &str, args: &[&str]) -> String {
    let output = Command::new(command).args(args).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}
