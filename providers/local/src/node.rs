//! How a node container is run: the least privilege under which containerd and a nested runc work.
//!
//! `--privileged` is not used: it fails where the daemon lacks a capability in its bounding set
//! (CAP_SYS_RESOURCE on the development machine), and it exposes every host device. Instead:
//! - `--cap-add ALL --cap-drop SYS_RESOURCE`: runc needs SYS_ADMIN, NET_ADMIN, MKNOD…;
//!   SYS_RESOURCE is the one missing here, and nothing in a node needs it;
//! - `seccomp=unconfined`, `apparmor=unconfined`: nested runc makes mount/unshare/pivot_root calls
//!   the default profiles refuse;
//! - a private cgroup namespace, whose read-only cgroup mounts the entrypoint remounts read-write:
//!   the node then sees (and can write) only its own cgroup subtree, on cgroup v1 and v2;
//! - tmpfs on /run and /tmp, a named volume on /var/lib/containerd (overlayfs cannot stack on the
//!   container's own overlay root), /lib/modules read-only when the host has it;
//! - restart policy `unless-stopped`, so nodes come back after a Docker restart;
//! - the API server port published on 127.0.0.1 only, at a free port.

use std::net::TcpListener;
use std::path::Path;

use crate::docker::{CgroupNs, ContainerSpec, PortMapping, VolumeMount};
use crate::names::{self, Role};
use crate::{Error, Result};

/// The port clusterd's API server listens on inside a server node.
pub const API_PORT: u16 = 6443;
/// Capabilities the daemon here cannot grant, so they are dropped from `ALL`.
pub const DROPPED_CAPS: &[&str] = &["SYS_RESOURCE"];

/// What the host offers that a node may mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFacts {
    /// Whether `/lib/modules` exists (bound read-only so iptables can load modules).
    pub lib_modules: bool,
}

impl HostFacts {
    /// Looks at this machine.
    pub fn detect() -> Self {
        Self {
            lib_modules: Path::new("/lib/modules").is_dir(),
        }
    }
}

/// One node container to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Cluster it belongs to.
    pub cluster: String,
    /// Server or agent.
    pub role: Role,
    /// Index among nodes of the same role (0-based).
    pub index: usize,
    /// Node image reference.
    pub image: String,
    /// Host port (on 127.0.0.1) for the API server; servers only.
    pub api_host_port: Option<u16>,
    /// Host address the API port is published on (`127.0.0.1` unless configured otherwise).
    pub api_host_ip: String,
    /// Further published ports (the config's `portMappings`, on the first server).
    pub extra_ports: Vec<PortMapping>,
    /// Host directories mounted in, `host:container[:ro]` (the config's `mounts`).
    pub mounts: Vec<String>,
}

impl NodeSpec {
    /// The container name (and hostname): `<cluster>-<role>-<index>`.
    pub fn name(&self) -> String {
        names::node(&self.cluster, self.role, self.index)
    }

    /// The volume holding this node's `/var/lib/containerd`.
    pub fn containerd_volume(&self) -> String {
        names::containerd_volume(&self.name())
    }

    /// The container to create for this node on a host with `host` facts.
    pub fn container_spec(&self, host: HostFacts) -> ContainerSpec {
        if self.role == Role::Lb {
            return self.load_balancer_spec();
        }
        let name = self.name();
        let mut binds = Vec::new();
        if host.lib_modules {
            binds.push("/lib/modules:/lib/modules:ro".to_owned());
        }
        binds.extend(self.mounts.iter().cloned());
        let ports = self
            .api_port_mapping()
            .into_iter()
            .chain(self.extra_ports.iter().cloned())
            .collect();
        ContainerSpec {
            hostname: name.clone(),
            image: self.image.clone(),
            labels: names::node_labels(&self.cluster, self.role),
            network: Some(names::network(&self.cluster)),
            ipv4_address: None,
            cmd: None,
            env: Vec::new(),
            cap_add: vec!["ALL".into()],
            cap_drop: DROPPED_CAPS.iter().map(|cap| (*cap).to_owned()).collect(),
            security_opt: vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()],
            cgroupns: Some(CgroupNs::Private),
            binds,
            tmpfs: [("/run", ""), ("/tmp", "")]
                .into_iter()
                .map(|(path, options)| (path.to_owned(), options.to_owned()))
                .collect(),
            volumes: vec![VolumeMount {
                volume: self.containerd_volume(),
                target: "/var/lib/containerd".into(),
            }],
            ports,
            restart: Some("unless-stopped".into()),
            name,
        }
    }
}

impl NodeSpec {
    /// The API port published on the host, when this container publishes it.
    fn api_port_mapping(&self) -> Option<PortMapping> {
        self.api_host_port.map(|host_port| PortMapping {
            host_ip: self.api_host_ip.clone(),
            host_port,
            container_port: API_PORT,
            protocol: "tcp".into(),
        })
    }

    /// The HA load balancer's container: Docker's default (unprivileged) confinement, no
    /// containerd (the entrypoint skips it for `CLUSTERCTL_ROLE=lb`), the API port published.
    fn load_balancer_spec(&self) -> ContainerSpec {
        let name = self.name();
        ContainerSpec {
            hostname: name.clone(),
            image: self.image.clone(),
            labels: names::node_labels(&self.cluster, self.role),
            network: Some(names::network(&self.cluster)),
            ipv4_address: None,
            cmd: None,
            env: vec![format!("{LB_ROLE_ENV}=lb")],
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            security_opt: Vec::new(),
            cgroupns: None,
            binds: Vec::new(),
            tmpfs: [("/run".to_owned(), String::new())].into_iter().collect(),
            volumes: Vec::new(),
            ports: self.api_port_mapping().into_iter().collect(),
            restart: Some("unless-stopped".into()),
            name,
        }
    }
}

/// The environment variable telling the node image's entrypoint which role it runs.
pub const LB_ROLE_ENV: &str = "CLUSTERCTL_ROLE";

/// A TCP port on 127.0.0.1 that is free right now (the kernel picks it).
pub fn free_local_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| {
        Error::Invalid(format!("no free port on 127.0.0.1 for the API server: {e}"))
    })?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|e| Error::Invalid(format!("no free port on 127.0.0.1 for the API server: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> NodeSpec {
        NodeSpec {
            cluster: "dev".into(),
            role: Role::Server,
            index: 0,
            image: "clusterctl/node:v0.1.0".into(),
            api_host_port: Some(40001),
            api_host_ip: "127.0.0.1".into(),
            extra_ports: Vec::new(),
            mounts: Vec::new(),
        }
    }

    #[test]
    fn node_runs_unprivileged_with_every_capability_but_the_missing_one() {
        let spec = server().container_spec(HostFacts { lib_modules: false });
        assert_eq!(spec.name, "dev-server-0");
        assert_eq!(spec.cap_add, vec!["ALL"]);
        assert_eq!(spec.cap_drop, vec!["SYS_RESOURCE"]);
        assert!(spec.security_opt.contains(&"seccomp=unconfined".to_owned()));
        assert_eq!(spec.cgroupns, Some(CgroupNs::Private));
        assert_eq!(spec.restart.as_deref(), Some("unless-stopped"));
        assert_eq!(spec.network.as_deref(), Some("clusterctl-dev"));
        assert_eq!(spec.labels["clusterctl.io/role"], "server");
    }

    #[test]
    fn containerd_state_lives_on_a_named_volume_and_run_on_tmpfs() {
        let spec = server().container_spec(HostFacts { lib_modules: false });
        assert_eq!(spec.volumes[0].volume, "dev-server-0-containerd");
        assert_eq!(spec.volumes[0].target, "/var/lib/containerd");
        assert!(spec.tmpfs.contains_key("/run") && spec.tmpfs.contains_key("/tmp"));
    }

    #[test]
    fn lib_modules_is_bound_read_only_only_when_the_host_has_it() {
        assert!(server()
            .container_spec(HostFacts { lib_modules: false })
            .binds
            .is_empty());
        assert_eq!(
            server()
                .container_spec(HostFacts { lib_modules: true })
                .binds,
            vec!["/lib/modules:/lib/modules:ro"]
        );
    }

    #[test]
    fn api_port_is_published_on_loopback_only() {
        let spec = server().container_spec(HostFacts { lib_modules: false });
        assert_eq!(spec.ports[0].to_string(), "127.0.0.1:40001->6443/tcp");
        let agent = NodeSpec {
            role: Role::Agent,
            api_host_port: None,
            ..server()
        };
        assert!(agent
            .container_spec(HostFacts { lib_modules: false })
            .ports
            .is_empty());
    }

    #[test]
    fn the_load_balancer_runs_confined_and_publishes_only_the_api_port() {
        let lb = NodeSpec {
            role: Role::Lb,
            ..server()
        };
        let spec = lb.container_spec(HostFacts { lib_modules: true });
        assert_eq!(spec.name, "dev-lb");
        assert!(spec.cap_add.is_empty() && spec.security_opt.is_empty());
        assert!(spec.volumes.is_empty() && spec.binds.is_empty());
        assert_eq!(spec.env, ["CLUSTERCTL_ROLE=lb"]);
        assert_eq!(spec.labels["clusterctl.io/role"], "lb");
        assert_eq!(spec.ports.len(), 1);
        assert_eq!(spec.ports[0].to_string(), "127.0.0.1:40001->6443/tcp");
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_local_port().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
