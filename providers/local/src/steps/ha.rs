//! The extra steps of a cluster with several servers (HA): a stacked etcd cluster across the
//! servers (one member per server, TLS with an etcd CA of its own), the other servers started with
//! the first one's cluster CA and signing keys, and a load balancer container in front of them
//! that is the cluster's one API endpoint (for the kubeconfig and for joining agents).
//!
//! Each server's clusterd talks to the etcd member in its own node, as kubeadm's stacked
//! control plane does; the controllers and the scheduler elect one leader through Leases.

use clusterctl_pki::{EtcdPki, San, DEFAULT_CERT_VALIDITY};
use clusterctl_provider_api::Node as _;
use clusterctl_steps::{for_each_host, wait_for, BoxFuture, Ctx, Step, StepResult};

use crate::admin::DATA_DIR;
use crate::args_file::{self, server_args};
use crate::docker_node::DockerNode;
use crate::names::Role;
use crate::node::API_PORT;
use crate::plan::LocalCluster;
use crate::steps::server::{node_address, server_runs_agent, POLL};
use crate::{Error, Result};

/// Where a server's etcd certificates live.
pub const ETCD_DIR: &str = "/etc/clusterctl/etcd";
/// The etcd args file the node entrypoint starts etcd from (one argument per line).
pub const ETCD_ARGS: &str = "/etc/clusterctl/etcd.args";
/// etcd's data directory inside a server node.
pub const ETCD_DATA: &str = "/var/lib/etcd";
/// The files of the cluster PKI every server shares (the CAs and the service-account key pair);
/// each server issues its own serving and client certificates from them.
pub const SHARED_PKI_FILES: &[&str] = &[
    "ca.crt",
    "ca.key",
    "sa.key",
    "sa.pub",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
];

/// The `--datastore` URL of a server: the etcd member in its own node, over TLS.
pub fn datastore_url() -> String {
    format!(
        "etcd+https://127.0.0.1:2379?ca={ETCD_DIR}/ca.crt&cert={ETCD_DIR}/client.crt&key={ETCD_DIR}/client.key"
    )
}

/// The flags a server of `cluster` adds to [`server_args`]: none for a single server; for HA, the
/// etcd datastore and the load balancer's name and address in its serving certificate.
pub async fn server_extra_args(ctx: &Ctx, cluster: &LocalCluster) -> Result<Vec<String>> {
    if !cluster.ha() {
        return Ok(Vec::new());
    }
    let lb = cluster.node_name(Role::Lb, 0);
    let lb_address = node_address(ctx, cluster, &lb).await?;
    Ok(vec![
        "--datastore".to_owned(),
        datastore_url(),
        "--tls-san".to_owned(),
        lb,
        "--tls-san".to_owned(),
        lb_address,
    ])
}

/// The full args of server `index` at `address`.
pub async fn full_server_args(
    ctx: &Ctx,
    cluster: &LocalCluster,
    node: &DockerNode,
    index: usize,
    address: &str,
) -> Result<Vec<String>> {
    let name = cluster.node_name(Role::Server, index);
    let node_name = server_runs_agent(node).await;
    let mut args = server_args(&cluster.name, &name, address, node_name);
    args.extend(server_extra_args(ctx, cluster).await?);
    if node_name {
        args.extend(cluster.server_registration.args());
    }
    args.extend(args_file::mirror_args(&cluster.registry_mirrors));
    Ok(args)
}

/// etcd's arguments for member `name` at `address` in a cluster of `members` (name, address).
pub fn etcd_args(
    cluster: &str,
    name: &str,
    address: &str,
    members: &[(String, String)],
) -> Vec<String> {
    let initial = members
        .iter()
        .map(|(member, ip)| format!("{member}=https://{ip}:2380"))
        .collect::<Vec<_>>()
        .join(",");
    let file = |f: &str| format!("{ETCD_DIR}/{f}");
    [
        ("--name", name.to_owned()),
        ("--data-dir", ETCD_DATA.to_owned()),
        (
            "--listen-client-urls",
            format!("https://127.0.0.1:2379,https://{address}:2379"),
        ),
        ("--advertise-client-urls", format!("https://{address}:2379")),
        ("--listen-peer-urls", format!("https://{address}:2380")),
        (
            "--initial-advertise-peer-urls",
            format!("https://{address}:2380"),
        ),
        ("--initial-cluster", initial),
        ("--initial-cluster-state", "new".to_owned()),
        ("--initial-cluster-token", format!("clusterctl-{cluster}")),
        ("--client-cert-auth", "true".to_owned()),
        ("--trusted-ca-file", file("ca.crt")),
        ("--cert-file", file("member.crt")),
        ("--key-file", file("member.key")),
        ("--peer-client-cert-auth", "true".to_owned()),
        ("--peer-trusted-ca-file", file("ca.crt")),
        ("--peer-cert-file", file("member.crt")),
        ("--peer-key-file", file("member.key")),
    ]
    .into_iter()
    .map(|(flag, value)| format!("{flag}={value}"))
    .collect()
}

/// Whether `path` is a non-empty file in `node`; `false` when the node does not run.
async fn has_file(node: &DockerNode, path: &str) -> Result<bool> {
    if !node.is_running().await? {
        return Ok(false);
    }
    Ok(node.run_unchecked(&["test", "-s", path]).await?.0 == 0)
}

/// Writes etcd certificates and args into every server and waits until the etcd cluster is
/// healthy. Certificates go everywhere before any args file, so an interrupted run either finds
/// every member's certificates (and only writes args) or starts over with a new etcd CA while no
/// etcd runs yet.
#[derive(Debug, Clone)]
pub struct StartEtcd {
    cluster: LocalCluster,
}

impl StartEtcd {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn node(&self, name: &str) -> DockerNode {
        DockerNode::new(self.cluster.docker.clone(), name)
    }

    async fn healthy(&self) -> Result<()> {
        let first = self.cluster.node_name(Role::Server, 0);
        let (cacert, cert, key) = (
            format!("--cacert={ETCD_DIR}/ca.crt"),
            format!("--cert={ETCD_DIR}/client.crt"),
            format!("--key={ETCD_DIR}/client.key"),
        );
        let (code, output) = self
            .node(&first)
            .run_unchecked(&[
                "etcdctl",
                "--endpoints=https://127.0.0.1:2379",
                &cacert,
                &cert,
                &key,
                "--command-timeout=2s",
                "endpoint",
                "health",
                "--cluster",
            ])
            .await?;
        if code == 0 {
            Ok(())
        } else {
            Err(Error::NotReady {
                detail: format!(
                    "etcd on {first} is not healthy yet: {}",
                    output.stderr.trim()
                ),
            })
        }
    }
}

impl Step for StartEtcd {
    fn title(&self) -> String {
        format!("Starting etcd on {} servers", self.cluster.servers)
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for name in self.cluster.names(Role::Server) {
                if !has_file(&self.node(&name), ETCD_ARGS).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let mut members = Vec::new();
            for name in self.cluster.names(Role::Server) {
                let address = node_address(ctx, &self.cluster, &name).await?;
                members.push((name, address));
            }
            let mut certified = true;
            for (name, _) in &members {
                let node = self.node(name);
                for file in [
                    "ca.crt",
                    "member.crt",
                    "member.key",
                    "client.crt",
                    "client.key",
                ] {
                    certified &= has_file(&node, &format!("{ETCD_DIR}/{file}")).await?;
                }
            }
            if !certified {
                let pki = EtcdPki::generate(&self.cluster.name).map_err(Error::from)?;
                let client = pki
                    .issue_client(DEFAULT_CERT_VALIDITY)
                    .map_err(Error::from)?;
                for (name, address) in &members {
                    let sans = [address.as_str(), name.as_str(), "127.0.0.1", "localhost"]
                        .iter()
                        .map(|san| San::parse(san))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(Error::from)?;
                    let member = pki.issue_member(name, &sans).map_err(Error::from)?;
                    let node = self.node(name);
                    let files = [
                        ("ca.crt", pki.ca_cert_pem().to_owned(), 0o644),
                        ("member.crt", member.cert_pem().to_owned(), 0o644),
                        ("member.key", member.key_pem().to_owned(), 0o600),
                        ("client.crt", client.cert_pem().to_owned(), 0o644),
                        ("client.key", client.key_pem().to_owned(), 0o600),
                    ];
                    let write = async {
                        node.run(&["mkdir", "-p", "-m", "0700", ETCD_DIR]).await?;
                        for (file, text, mode) in &files {
                            node.copy(text.as_bytes(), &format!("{ETCD_DIR}/{file}"), *mode)
                                .await?;
                        }
                        Ok::<(), crate::Error>(())
                    };
                    ctx.wet(
                        name,
                        format!("write etcd certificates (a new etcd CA) to {ETCD_DIR}"),
                        write,
                    )
                    .await?;
                }
            }
            for (name, address) in &members {
                let args = etcd_args(&self.cluster.name, name, address, &members);
                let node = self.node(name);
                let write = async {
                    node.copy(args_file::render(&args).as_bytes(), ETCD_ARGS, 0o600)
                        .await?;
                    Ok::<(), crate::Error>(())
                };
                ctx.wet(
                    name,
                    format!("write {ETCD_ARGS} to start etcd member {name} at {address}"),
                    write,
                )
                .await?;
            }
            if ctx.is_dry_run() {
                return Ok(());
            }
            let first = self.cluster.node_name(Role::Server, 0);
            let waited = wait_for(
                ctx,
                format!("etcd on {} servers to be healthy", members.len()),
                self.cluster.wait,
                POLL,
                || self.healthy(),
            )
            .await;
            match waited {
                Ok(_) => Ok(()),
                Err(error) if ctx.is_cancelled() => Err(error.into()),
                Err(error) => {
                    let log = self
                        .node(&first)
                        .run_unchecked(&["tail", "-n", "15", "/var/log/etcd.log"])
                        .await
                        .map(|(_, out)| out.stdout)
                        .unwrap_or_default();
                    Err(Error::NotReady {
                        detail: format!(
                            "{error}\nlast lines of /var/log/etcd.log on {first}:\n{log}"
                        ),
                    }
                    .into())
                }
            }
        })
    }
}

/// Starts `clusterd lb` in the load balancer container, in front of every server.
#[derive(Debug, Clone)]
pub struct StartLoadBalancer {
    cluster: LocalCluster,
}

impl StartLoadBalancer {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }
}

impl Step for StartLoadBalancer {
    fn title(&self) -> String {
        format!(
            "Starting the load balancer {} in front of {} servers",
            self.cluster.node_name(Role::Lb, 0),
            self.cluster.servers
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let name = self.cluster.node_name(Role::Lb, 0);
            let node = DockerNode::new(self.cluster.docker.clone(), name);
            Ok(args_file::is_started(&node).await?)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let lb = self.cluster.node_name(Role::Lb, 0);
            let mut args = vec![
                "lb".to_owned(),
                "--listen".to_owned(),
                format!("0.0.0.0:{API_PORT}"),
            ];
            for name in self.cluster.names(Role::Server) {
                let address = node_address(ctx, &self.cluster, &name).await?;
                args.extend(["--backend".to_owned(), format!("{address}:{API_PORT}")]);
            }
            let node = DockerNode::new(self.cluster.docker.clone(), lb.clone());
            args_file::start(ctx, &node, &args).await?;
            Ok(())
        })
    }
}

/// Starts clusterd server on the other servers with the first server's CAs and signing keys.
#[derive(Debug, Clone)]
pub struct JoinServers {
    cluster: LocalCluster,
}

impl JoinServers {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn others(&self) -> Vec<(usize, String)> {
        (1..self.cluster.servers)
            .map(|index| (index, self.cluster.node_name(Role::Server, index)))
            .collect()
    }

    async fn is_started(&self, name: &str) -> Result<bool> {
        args_file::is_started(&DockerNode::new(self.cluster.docker.clone(), name)).await
    }
}

impl Step for JoinServers {
    fn title(&self) -> String {
        let others = self.cluster.servers - 1;
        format!(
            "Starting clusterd server on {others} more server{}",
            if others == 1 { "" } else { "s" }
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for (_, name) in self.others() {
                if !self.is_started(&name).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let first_name = self.cluster.node_name(Role::Server, 0);
            let first = DockerNode::new(self.cluster.docker.clone(), first_name.clone());
            let mut shared = Vec::new();
            for file in SHARED_PKI_FILES {
                let path = format!("{DATA_DIR}/pki/{file}");
                let text = if ctx.is_dry_run() && !has_file(&first, &path).await? {
                    String::new()
                } else {
                    first.run(&["cat", &path]).await?.stdout
                };
                shared.push((path, text));
            }
            let mut pending = Vec::new();
            for (index, name) in self.others() {
                if !self.is_started(&name).await? {
                    pending.push((index, name));
                }
            }
            let names: Vec<String> = pending.iter().map(|(_, name)| name.clone()).collect();
            for_each_host(ctx, names, self.cluster.parallelism, |name| {
                let shared = &shared;
                let first_name = &first_name;
                let index = pending
                    .iter()
                    .find(|(_, n)| *n == name)
                    .map_or(0, |(index, _)| *index);
                async move {
                    let node = DockerNode::new(self.cluster.docker.clone(), name.clone());
                    let copy = async {
                        node.run(&["mkdir", "-p", "-m", "0700", &format!("{DATA_DIR}/pki")])
                            .await?;
                        for (path, text) in shared {
                            let mode = if path.ends_with(".key") { 0o600 } else { 0o644 };
                            node.copy(text.as_bytes(), path, mode).await?;
                        }
                        Ok::<(), crate::Error>(())
                    };
                    ctx.wet(
                        &name,
                        format!(
                            "copy the cluster CAs and service-account keys from {first_name} ({})",
                            SHARED_PKI_FILES.join(", ")
                        ),
                        copy,
                    )
                    .await?;
                    let address = node_address(ctx, &self.cluster, &name).await?;
                    let args = full_server_args(ctx, &self.cluster, &node, index, &address).await?;
                    args_file::start(ctx, &node, &args).await?;
                    Ok::<(), crate::Error>(())
                }
            })
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_members_know_each_other_and_require_client_certificates() {
        let members = vec![
            ("ha-server-0".to_owned(), "172.30.0.2".to_owned()),
            ("ha-server-1".to_owned(), "172.30.0.3".to_owned()),
        ];
        let args = etcd_args("ha", "ha-server-1", "172.30.0.3", &members);
        assert!(args.contains(&"--name=ha-server-1".to_owned()));
        assert!(args.contains(
            &"--initial-cluster=ha-server-0=https://172.30.0.2:2380,ha-server-1=https://172.30.0.3:2380"
                .to_owned()
        ));
        assert!(args.contains(
            &"--listen-client-urls=https://127.0.0.1:2379,https://172.30.0.3:2379".to_owned()
        ));
        assert!(args.contains(&"--client-cert-auth=true".to_owned()));
        assert!(args.contains(&"--peer-client-cert-auth=true".to_owned()));
        assert!(
            args.iter().all(|arg| !arg.contains("http://")),
            "etcd speaks TLS only: {args:?}"
        );
        assert!(datastore_url().starts_with("etcd+https://127.0.0.1:2379?ca="));
    }
}
