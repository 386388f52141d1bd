//! Everything that runs on a node, composed: the agent core (Node, Lease, pods over CRI), the
//! agent's HTTPS API for logs/exec/attach/port-forward/stats, the service proxy and the cluster
//! DNS. `clusterd agent` runs it alone; `clusterd server` runs it beside the control plane for the
//! server's own node (unless `--disable-agent`).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clusterd_agent::bootstrap::{self, JoinConfig};
use clusterd_agent::registry_mirrors::{write_registry_mirrors, RegistryMirror};
use clusterd_agent::server::{AgentServerConfig, CriContainerLookup};
use clusterd_agent::{Agent, AgentConfig};
use clusterd_cri::CriRuntime;
use tokio::sync::watch;

/// The sandbox image of a containerd the agent starts itself (built from this binary).
const PAUSE_IMAGE: &str = "clusterd.local/pause:3.10";

/// What a node agent needs besides its credentials.
#[derive(Debug)]
pub struct NodeOptions {
    /// The agent core's configuration.
    pub agent: AgentConfig,
    /// containerd's socket; a containerd is started there when nothing answers.
    pub containerd_socket: PathBuf,
    /// Whether to run the service proxy (iptables) on this node.
    pub proxy: bool,
    /// Whether to serve the cluster DNS on this node.
    pub dns: bool,
    /// Registry mirrors written as containerd `hosts.toml` files at start.
    pub registry_mirrors: Vec<RegistryMirror>,
    /// The directory containerd reads `<registry>/hosts.toml` from (`config_path`); a containerd
    /// the agent starts itself is pointed at it too.
    pub registry_config_dir: PathBuf,
}

/// How the agent gets its identity.
#[derive(Debug)]
pub enum NodeCredentials {
    /// A kubeconfig made elsewhere; the agent's HTTPS API then needs
    /// `<data-dir>/pki/serving.{crt,key}` to exist, and is not started otherwise.
    Kubeconfig(PathBuf),
    /// Join (or re-use the credentials of an earlier join).
    Join(JoinConfig),
}

/// The node's address: the given one, or the address of the interface with the default route.
pub fn node_ip(given: Option<IpAddr>) -> Result<IpAddr, String> {
    given
        .or_else(default_route_ip)
        .ok_or_else(|| "no default route to take the node IP from; give --node-ip".into())
}

/// The host name, lowercased, as the default Node name.
pub fn host_name() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .map_err(|e| format!("read the host name (give --node-name): {e}"))
}

/// Runs the node until `shutdown` completes. Pods keep running when it returns.
pub async fn run(
    mut options: NodeOptions,
    credentials: NodeCredentials,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let node_name = options.agent.node_name.clone();
    let data_dir = options.agent.data_dir.clone();
    let (client, serving) = match credentials {
        NodeCredentials::Kubeconfig(path) => {
            options.agent.cluster_ca = kubeconfig_ca(&path);
            let serving = (
                data_dir.join("pki").join("serving.crt"),
                data_dir.join("pki").join("serving.key"),
            );
            (crate::client(&path).await?, serving)
        }
        NodeCredentials::Join(join) => {
            let credentials = bootstrap::ensure_credentials(&join)
                .await
                .map_err(|e| e.to_string())?;
            options.agent.cluster_ca = Some(credentials.ca_pem().as_bytes().to_vec());
            let client = credentials.client().await.map_err(|e| e.to_string())?;
            (client, (credentials.serving_cert, credentials.serving_key))
        }
    };
    write_registry_mirrors(&options.registry_config_dir, &options.registry_mirrors)
        .map_err(|e| e.to_string())?;
    let (runtime, _containerd) = connect_runtime(
        &options.containerd_socket,
        &options.agent,
        &options.registry_config_dir,
    )
    .await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    match agent_server_config(&options.agent, &serving) {
        Ok(config) => {
            let lookup = CriContainerLookup::new(runtime.clone());
            let runtime = runtime.clone();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                if let Err(error) =
                    clusterd_agent::server::serve(config, runtime, lookup, stop).await
                {
                    tracing::error!(%error, "the agent's HTTPS API stopped: logs and exec are unavailable on this node");
                }
            });
        }
        Err(why) => tracing::warn!(
            "the agent's HTTPS API is not started ({why}): logs and exec are unavailable on this node"
        ),
    }
    if options.proxy {
        let mut config = clusterd_proxy::ProxyConfig::new(&node_name);
        if let IpAddr::V4(ip) = options.agent.node_ip {
            config.node_ips = vec![ip];
        }
        supervise("service proxy", stop_rx.clone(), {
            let client = client.clone();
            move |stop| clusterd_proxy::run(client.clone(), config.clone(), stop)
        });
    }
    if options.dns {
        supervise("cluster DNS", stop_rx.clone(), {
            let client = client.clone();
            move |stop| clusterd_dns::run(client.clone(), clusterd_dns::DnsConfig::default(), stop)
        });
    }
    let result = Agent::new(options.agent, runtime)
        .run(client, shutdown)
        .await
        .map_err(|e| e.to_string());
    let _ = stop_tx.send(true);
    // Let the proxy and DNS see the stop; their rules and addresses stay so pods keep working.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

/// Runs a node service until the node stops, restarting it after a pause when it fails (a
/// stopped node makes the service return `Ok`, which ends the restarts).
fn supervise<F, Fut, E>(name: &'static str, stop: watch::Receiver<bool>, run: F)
where
    F: Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    crate::spawn_restarting(name, Duration::from_secs(5), move || {
        let mut rx = stop.clone();
        let service = run(Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }));
        async move { service.await.map_err(|e| e.to_string()) }
    });
}

/// The agent's HTTPS API configuration from its serving certificate files and the cluster CA.
fn agent_server_config(
    agent: &AgentConfig,
    (cert, key): &(PathBuf, PathBuf),
) -> Result<AgentServerConfig, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
    };
    let client_ca_pem = agent
        .cluster_ca
        .as_ref()
        .map(|ca| String::from_utf8_lossy(ca).into_owned())
        .ok_or("the cluster CA is unknown")?;
    Ok(AgentServerConfig {
        bind: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), agent.port),
        serving_cert_pem: read(cert)?,
        serving_key_pem: read(key)?,
        client_ca_pem,
    })
}

/// Connects to containerd, or starts one (under `<data-dir>/containerd`, with a pause image
/// built from this binary) when nothing answers on `socket`.
async fn connect_runtime(
    socket: &Path,
    agent: &AgentConfig,
    registry_config_dir: &Path,
) -> Result<(CriRuntime, Option<clusterd_cri::Containerd>), String> {
    if let Ok(runtime) = CriRuntime::connect(socket).await {
        // A containerd configured by clusterctl (node images, ssh hosts) names this sandbox image.
        ensure_pause(&runtime, &agent.data_dir.join("containerd")).await?;
        return Ok((runtime, None));
    }
    let dir = agent.data_dir.join("containerd");
    let mut containerd = clusterd_cri::ContainerdConfig::under(&dir, PAUSE_IMAGE);
    containerd.socket = socket.to_path_buf();
    containerd.cni_conf_dir = agent.cni_conf_dir.clone();
    containerd.registry_config_dir = registry_config_dir.to_path_buf();
    tracing::info!(socket = %socket.display(), "no containerd answering; starting one");
    let started = clusterd_cri::Containerd::ensure(&containerd)
        .await
        .map_err(|e| e.to_string())?;
    let runtime = CriRuntime::connect(socket)
        .await
        .map_err(|e| e.to_string())?;
    ensure_pause(&runtime, &dir).await?;
    Ok((runtime, Some(started)))
}

/// busybox (the node image has `busybox-static`, 2 MiB).
const BUSYBOX: &str = "/bin/busybox";
/// The pause loop busybox's shell runs as a sandbox's PID 1: waits for ever, reaps what it is
/// given, and exits on SIGTERM or SIGINT.
const BUSYBOX_PAUSE: &str =
    "trap 'exit 0' TERM INT; while :; do /busybox sleep 86400 & wait $!; done";

/// Imports the sandbox image unless the runtime has it: a static busybox running a pause loop when
/// the host has one, else this very binary running `clusterd pause` (a debug clusterd is over
/// 100 MiB, which every node would hash, write and unpack before its first pod).
async fn ensure_pause(runtime: &CriRuntime, work_dir: &Path) -> Result<(), String> {
    let busybox = Path::new(BUSYBOX);
    // Its libraries, if it has any, go into the image with it.
    let built = if busybox.is_file() {
        clusterd_agent::ensure_pause_image(
            runtime,
            PAUSE_IMAGE,
            busybox,
            "busybox",
            &["sh", "-c", BUSYBOX_PAUSE],
            work_dir,
        )
        .await
    } else {
        let exe =
            std::env::current_exe().map_err(|e| format!("find the clusterd executable: {e}"))?;
        clusterd_agent::ensure_pause_image(
            runtime,
            PAUSE_IMAGE,
            &exe,
            "clusterd",
            &["pause"],
            work_dir,
        )
        .await
    };
    built
        .map(|_| ())
        .map_err(|e| format!("sandbox image {PAUSE_IMAGE}: {e}"))
}

/// The address of the interface holding the default route (from /proc/net/route).
fn default_route_ip() -> Option<IpAddr> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    let interface = routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&"00000000")).then(|| fields[0].to_owned())
    })?;
    let output = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &interface])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let cidr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    cidr.split('/').next()?.parse().ok()
}

/// The cluster CA embedded in (or named by) a kubeconfig, for service-account volumes.
fn kubeconfig_ca(path: &Path) -> Option<Vec<u8>> {
    let file = kube::config::Kubeconfig::read_from(path).ok()?;
    let cluster = file.clusters.first()?.cluster.clone()?;
    if let Some(data) = cluster.certificate_authority_data {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .ok();
    }
    std::fs::read(cluster.certificate_authority?).ok()
}
