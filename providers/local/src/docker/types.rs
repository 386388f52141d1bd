//! The provider's own Docker types: what it asks for and what it reads back, independent of bollard.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

/// Labels on a Docker object (sorted, so specs and fakes compare deterministically).
pub type Labels = BTreeMap<String, String>;

/// A stream of tar bytes (an image archive or a root filesystem).
pub type ImageStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What the daemon reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineInfo {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// Negotiated API version, e.g. `1.41`.
    pub api_version: String,
    /// `1` or `2`.
    pub cgroup_version: String,
    /// `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
}

/// A container's cgroup namespace mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupNs {
    /// Its own cgroup namespace: `/sys/fs/cgroup` shows the container's cgroup as the root.
    Private,
    /// The host's cgroup namespace.
    Host,
}

/// A named volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// Volume name.
    pub volume: String,
    /// Mount point inside the container.
    pub target: String,
}

/// A port published from the host into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Host address to bind, `127.0.0.1` by default.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.protocol
        )
    }
}

/// Everything `docker create` is asked for, in the terms this provider uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Hostname inside the container.
    pub hostname: String,
    /// Image reference.
    pub image: String,
    /// Labels (cluster, role, ...).
    pub labels: Labels,
    /// Network to attach to (with the container name as DNS alias), if any.
    pub network: Option<String>,
    /// Fixed IPv4 address on that network (it must have a subnet of its own), if any.
    pub ipv4_address: Option<String>,
    /// Command; `None` keeps the image's.
    pub cmd: Option<Vec<String>>,
    /// Environment, `KEY=value`.
    pub env: Vec<String>,
    /// Capabilities added (`ALL`).
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// `--security-opt` values (`seccomp=unconfined`, ...).
    pub security_opt: Vec<String>,
    /// Cgroup namespace mode; `None` keeps the daemon default.
    pub cgroupns: Option<CgroupNs>,
    /// Bind mounts, `host:container[:ro]`.
    pub binds: Vec<String>,
    /// Tmpfs mounts: path and mount options.
    pub tmpfs: BTreeMap<String, String>,
    /// Named volumes.
    pub volumes: Vec<VolumeMount>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Restart policy (`no`, `unless-stopped`, `always`); `None` means `no`.
    pub restart: Option<String>,
}

/// Whether a container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running (or restarting).
    Running,
    /// Paused.
    Paused,
    /// Exited or dead.
    Exited,
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "Created",
            Self::Running => "Running",
            Self::Paused => "Paused",
            Self::Exited => "Exited",
        })
    }
}

impl ContainerState {
    /// Maps Docker's state words (`running`, `exited`, ...).
    pub fn from_docker(state: &str) -> Self {
        match state {
            "running" | "restarting" => Self::Running,
            "paused" => Self::Paused,
            "created" => Self::Created,
            _ => Self::Exited,
        }
    }
}

/// A container as listed or inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Container id.
    pub id: String,
    /// Container name, without the leading `/`.
    pub name: String,
    /// Image reference it was created from.
    pub image: String,
    /// Its labels.
    pub labels: Labels,
    /// Whether it runs.
    pub state: ContainerState,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// IP addresses by network name.
    pub addresses: BTreeMap<String, String>,
}

/// A network as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    /// Network id.
    pub id: String,
    /// Network name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its IPv4 subnet, `172.19.0.0/16`, when Docker reports one.
    pub subnet: Option<String>,
}

/// The addresses of a network created with a subnet of its own (`docker network create
/// --subnet … --gateway … --ip-range …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIpam {
    /// The subnet, `172.19.0.0/16`.
    pub subnet: String,
    /// The bridge's address, `172.19.0.1`.
    pub gateway: String,
    /// Where Docker allocates addresses for containers without a fixed one.
    pub ip_range: Option<String>,
}

/// A volume as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// Volume name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
}

/// An image as listed or inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image id (`sha256:…`).
    pub id: String,
    /// Its tags (`repo:tag`).
    pub tags: Vec<String>,
    /// Its labels.
    pub labels: Labels,
    /// Size in bytes.
    pub size: u64,
}

/// What a command run inside a container produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Exit code; `-1` when Docker did not report one.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ExecOutput {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Stdout and stderr together, trimmed, for error messages.
    pub fn combined(&self) -> String {
        let mut text = self.stdout.trim_end().to_owned();
        let stderr = self.stderr.trim_end();
        if !stderr.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(stderr);
        }
        text
    }
}
