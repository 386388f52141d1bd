//! The streaming test's node: its own containerd (root, socket, CNI bridge under a temp dir), an
//! in-process API server, and the agent's HTTPS API with a serving certificate from the cluster CA.
//! No agent pod manager runs: the test starts containers over CRI itself and writes the Node and
//! Pod objects, so only the streaming path is exercised.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use clusterctl_pki::{ClusterPki, PkiPaths, PkiSpec};
use clusterd_agent::server::{AgentServer, AgentServerConfig, CriContainerLookup};
use clusterd_apiserver::{ApiServer, ServerConfig};
use clusterd_cri::{
    api, CniConfig, Containerd, ContainerdConfig, CriRuntime, ImageBuilder, ImageConfig, Runtime,
};
use tokio::sync::oneshot;

pub const IMAGE: &str = "clusterd.local/busybox:streaming";
pub const BUSYBOX: &str = "/bin/busybox";
pub const KUBECTL: &str = "/usr/bin/kubectl";
pub const NODE: &str = "streaming-node";
pub const BRIDGE: &str = "strm-test0";
pub const POD_CIDR: &str = "10.244.249.0/24";
/// What the pod's web server answers.
pub const PAGE: &str = "hello through port-forward\n";

pub fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (containerd, runc and CNI need root)".into());
    }
    for tool in [
        "/usr/bin/script",
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/sbin/runc",
        "/usr/lib/cni/bridge",
        BUSYBOX,
        KUBECTL,
    ] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is absent"));
        }
    }
    None
}

pub fn busybox_image(entrypoint: &[&str]) -> ImageBuilder {
    let mut image = ImageBuilder::new(IMAGE).unwrap();
    image.copy(BUSYBOX, "/bin/busybox", 0o755);
    for applet in [
        "sh", "echo", "cat", "sleep", "true", "tty", "stty", "httpd", "ps", "grep",
    ] {
        image.symlink(&format!("/bin/{applet}"), "busybox");
    }
    image.dir("/tmp", 0o1777);
    image.file("/www/index.html", PAGE, 0o644);
    image.config(ImageConfig {
        entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    });
    image
}

/// containerd (own root, socket, CNI bridge), the API server and the agent's API.
pub struct Harness {
    pub containerd: Option<Containerd>,
    pub api_stop: Option<oneshot::Sender<()>>,
    pub agent_stop: Option<oneshot::Sender<()>>,
    pub kubeconfig: PathBuf,
    pub pki: ClusterPki,
    pub agent_addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Harness {
        let dir = tempfile::Builder::new()
            .prefix("clusterd-streaming-")
            .tempdir()
            .unwrap();
        // containerd, with the busybox image doubling as the sandbox image (sleep as PID 1).
        let config = ContainerdConfig::under(dir.path(), IMAGE);
        let mut cni = CniConfig::new(POD_CIDR.parse().unwrap());
        cni.network_name = format!("clusterd-{BRIDGE}");
        cni.bridge = BRIDGE.to_owned();
        cni.ipam_data_dir = Some(dir.path().join("cni-ipam"));
        cni.write(&config.cni_conf_dir).unwrap();
        let containerd = Containerd::ensure(&config).await.unwrap();
        let archive = dir.path().join("busybox.tar");
        busybox_image(&["/bin/sleep", "2147483647"])
            .write_docker_archive(&archive)
            .unwrap();
        containerd
            .runtime()
            .import_image(&archive, IMAGE)
            .await
            .unwrap();

        // The API server.
        let mut server_config = ServerConfig::new(dir.path().join("server"));
        server_config.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
        server_config.port = 0;
        let server = ApiServer::start(&server_config).await.unwrap();
        let kubeconfig = server.kubeconfig_path().to_owned();
        let (api_stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        let pki = ClusterPki::load_or_generate(
            PkiPaths::new(dir.path().join("server").join("pki")),
            &PkiSpec::new("clusterd".to_owned()),
        )
        .unwrap();

        // The agent's API, with a serving certificate for 127.0.0.1 from the cluster CA.
        let serving = pki
            .issue_node_serving(NODE, &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .unwrap();
        let agent = AgentServer::bind(&AgentServerConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            serving_cert_pem: serving.cert_pem().to_owned(),
            serving_key_pem: serving.key_pem().to_owned(),
            client_ca_pem: pki.ca_cert_pem().to_owned(),
        })
        .await
        .unwrap();
        let agent_addr = agent.local_addr();
        let runtime = containerd.runtime().clone();
        let (agent_stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            agent.serve(runtime.clone(), CriContainerLookup::new(runtime), async {
                let _ = stopped.await;
            }),
        );
        let harness = Harness {
            containerd: Some(containerd),
            api_stop: Some(api_stop),
            agent_stop: Some(agent_stop),
            kubeconfig,
            pki,
            agent_addr,
            dir,
        };
        harness.register_node();
        harness
    }

    pub fn runtime(&self) -> &CriRuntime {
        self.containerd.as_ref().unwrap().runtime()
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(KUBECTL);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let output = self.kubectl(args, stdin);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn apply_status(&self, kind: &str, name: &str, status: serde_json::Value) {
        let patch = serde_json::json!({ "status": status }).to_string();
        self.kubectl_ok(
            &[
                "patch",
                kind,
                name,
                "--subresource=status",
                "--type=merge",
                "-p",
                &patch,
            ],
            None,
        );
    }

    /// The Node object, pointing at the agent's API.
    pub fn register_node(&self) {
        let node = serde_json::json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
        });
        self.kubectl_ok(&["create", "-f", "-"], Some(&node.to_string()));
        self.apply_status(
            "node",
            NODE,
            serde_json::json!({
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.agent_addr.port()}},
                "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            }),
        );
    }

    /// A Pod object bound to the node and Running, with these container names.
    pub fn create_pod(&self, name: &str, containers: &[&str]) {
        let containers: Vec<_> = containers
            .iter()
            .map(|c| serde_json::json!({"name": c, "image": IMAGE}))
            .collect();
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "containers": containers},
        });
        self.kubectl_ok(&["create", "-f", "-"], Some(&pod.to_string()));
        self.apply_status("pod", name, serde_json::json!({"phase": "Running"}));
    }

    /// Runs a sandbox for `pod` (metadata as kubelet sets it); returns its id and config.
    pub async fn sandbox(&self, pod: &str) -> (String, api::PodSandboxConfig) {
        let log_dir = self.dir.path().join("pods").join(pod);
        std::fs::create_dir_all(&log_dir).unwrap();
        let config = api::PodSandboxConfig {
            metadata: Some(api::PodSandboxMetadata {
                name: pod.into(),
                uid: format!("uid-{pod}"),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: pod.into(),
            log_directory: log_dir.display().to_string(),
            labels: HashMap::from([("clusterctl.io/cluster".to_owned(), "streaming".to_owned())]),
            ..Default::default()
        };
        let id = self
            .runtime()
            .run_pod_sandbox(config.clone())
            .await
            .unwrap();
        (id, config)
    }

    /// Creates and starts attempt `attempt` of container `name` running `script` in `sh -c`.
    pub async fn container(
        &self,
        sandbox: &(String, api::PodSandboxConfig),
        name: &str,
        attempt: u32,
        script: &str,
    ) -> String {
        let config = api::ContainerConfig {
            metadata: Some(api::ContainerMetadata {
                name: name.into(),
                attempt,
            }),
            image: Some(api::ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: vec!["/bin/sh".into(), "-c".into(), script.into()],
            log_path: format!("{name}/{attempt}.log"),
            ..Default::default()
        };
        let id = self
            .runtime()
            .create_container(&sandbox.0, config, sandbox.1.clone())
            .await
            .unwrap();
        self.runtime().start_container(&id).await.unwrap();
        id
    }

    pub async fn wait_exited(&self, id: &str) {
        for _ in 0..100 {
            let status = self.runtime().container_status(id).await.unwrap();
            if status.state == api::ContainerState::ContainerExited as i32 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("container {id} did not exit");
    }

    pub async fn stop(mut self) {
        for sandbox in self.runtime().list_pod_sandboxes(None).await.unwrap() {
            let _ = self.runtime().stop_pod_sandbox(&sandbox.id).await;
            let _ = self.runtime().remove_pod_sandbox(&sandbox.id).await;
        }
        if let Some(stop) = self.agent_stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.api_stop.take() {
            let _ = stop.send(());
        }
        if let Some(containerd) = self.containerd.take() {
            containerd.shutdown().await.unwrap();
        }
        let _ = Command::new("ip").args(["link", "delete", BRIDGE]).output();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // A failed test: remove the pods (CNI DEL included) while containerd still runs.
        if let Some(containerd) = &self.containerd {
            let socket = containerd.socket().to_owned();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(cri) = CriRuntime::connect(&socket).await {
                        for sandbox in cri.list_pod_sandboxes(None).await.unwrap_or_default() {
                            let _ = cri.stop_pod_sandbox(&sandbox.id).await;
                            let _ = cri.remove_pod_sandbox(&sandbox.id).await;
                        }
                    }
                });
            })
            .join();
        }
        let _ = Command::new("ip").args(["link", "delete", BRIDGE]).output();
    }
}
