//! The cluster's admin credentials: the kubeconfig `clusterd server` writes inside the first server
//! node, pointed at the API server's published port on 127.0.0.1, as a kubeconfig [`Entry`] for
//! the user and as a kube-rs client for the steps that wait on the cluster.

use std::sync::Arc;

use clusterctl_kubeconfig::{context_name, Cluster, Entry, Kubeconfig, User};

use crate::docker::{ContainerInfo, ContainerState, DockerApi};
use crate::docker_node::DockerNode;
use crate::names::{self, Role};
use crate::node::API_PORT;
use crate::{Error, Result};

/// clusterd's data directory inside a server node.
pub const DATA_DIR: &str = "/var/lib/clusterd";
/// The admin kubeconfig `clusterd server` writes inside a server node.
pub const ADMIN_KUBECONFIG: &str = "/var/lib/clusterd/admin.kubeconfig";

/// The admin credentials of a cluster, for the API server at `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCredentials {
    /// The cluster name.
    pub cluster: String,
    /// `https://127.0.0.1:<host port>`.
    pub server: String,
    /// The cluster CA bundle, base64 PEM as kubeconfig keeps it.
    pub ca_data: String,
    /// The admin client certificate, base64 PEM.
    pub cert_data: String,
    /// The admin client key, base64 PEM.
    pub key_data: String,
}

impl AdminCredentials {
    /// Reads clusterd's admin kubeconfig `text` (from `node`) and points it at `server`.
    pub fn parse(cluster: &str, node: &str, text: &str, server: String) -> Result<Self> {
        let bad = |detail: String| Error::AdminKubeconfig {
            node: node.to_owned(),
            path: ADMIN_KUBECONFIG.to_owned(),
            detail,
        };
        let config: Kubeconfig =
            serde_yaml::from_str(text).map_err(|e| bad(format!("it is not a kubeconfig: {e}")))?;
        let context_name = config
            .current_context()
            .map(str::to_owned)
            .or_else(|| config.contexts.first().map(|c| c.name.clone()))
            .ok_or_else(|| bad("it has no context".to_owned()))?;
        let context = config
            .context(&context_name)
            .ok_or_else(|| bad(format!("context {context_name:?} is not defined")))?;
        let found = config.cluster(&context.context.cluster).ok_or_else(|| {
            bad(format!(
                "cluster {:?} is not defined",
                context.context.cluster
            ))
        })?;
        let user = config
            .user(&context.context.user)
            .ok_or_else(|| bad(format!("user {:?} is not defined", context.context.user)))?;
        let field = |value: &Option<String>, what: &str| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(format!("it has no {what}")))
        };
        Ok(Self {
            cluster: cluster.to_owned(),
            server,
            ca_data: field(
                &found.cluster.certificate_authority_data,
                "certificate-authority-data",
            )?,
            cert_data: field(
                &user.user.client_certificate_data,
                "client-certificate-data",
            )?,
            key_data: field(&user.user.client_key_data, "client-key-data")?,
        })
    }

    /// The `local-<cluster>` kubeconfig entry for the user's kubeconfig.
    pub fn entry(&self) -> Entry {
        let cluster = Cluster {
            certificate_authority_data: Some(self.ca_data.clone()),
            server: self.server.clone(),
            ..Cluster::default()
        };
        let user = User {
            client_certificate_data: Some(self.cert_data.clone()),
            client_key_data: Some(self.key_data.clone()),
            ..User::default()
        };
        Entry::new(context_name("local", &self.cluster), cluster, user)
    }

    /// A kube-rs client with these credentials.
    pub async fn client(&self) -> Result<kube::Client> {
        let failed = |detail: String| Error::Api {
            operation: "build a client".to_owned(),
            cluster: self.cluster.clone(),
            server: self.server.clone(),
            detail,
        };
        let text = clusterctl_kubeconfig::render_standalone(&self.entry())?;
        let file = kube::config::Kubeconfig::from_yaml(&text).map_err(|e| failed(e.to_string()))?;
        let config =
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| failed(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| failed(e.to_string()))
    }

    /// The API server's `/readyz` answer: `Ok` when it says `ok`.
    pub async fn readyz(&self, client: &kube::Client) -> Result<()> {
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| self.api_error("GET /readyz", e.to_string()))?;
        let text = client
            .request_text(request)
            .await
            .map_err(|e| self.api_error("GET /readyz", clusterctl_steps::error_chain(&e)))?;
        if text.trim() == "ok" {
            Ok(())
        } else {
            Err(self.api_error("GET /readyz", format!("answered {:?}", text.trim())))
        }
    }

    /// An API error on this cluster.
    pub fn api_error(&self, operation: &str, detail: String) -> Error {
        Error::Api {
            operation: operation.to_owned(),
            cluster: self.cluster.clone(),
            server: self.server.clone(),
            detail,
        }
    }
}

/// The host port `cluster`'s API is published on: the load balancer's in an HA cluster, else the
/// only server's.
fn published_api_port(cluster: &str, found: &ContainerInfo) -> Result<u16> {
    if found.state != ContainerState::Running {
        return Err(Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            detail: format!(
                "has its API endpoint {} {} (start it with `docker start {}`)",
                found.name,
                found.state.to_string().to_lowercase(),
                found.name
            ),
        });
    }
    found
        .ports
        .iter()
        .find(|port| port.container_port == API_PORT && port.host_port != 0)
        .map(|port| port.host_port)
        .ok_or_else(|| Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            detail: format!("has a node {} that publishes no API port", found.name),
        })
}

/// A running server node of `cluster` (the first one that runs) and the host port of the
/// cluster's API endpoint (its load balancer when it has several servers).
pub async fn first_server(docker: &dyn DockerApi, cluster: &str) -> Result<(String, u16)> {
    let mut servers: Vec<ContainerInfo> = docker
        .list_containers(&names::node_labels(cluster, Role::Server))
        .await?
        .into_iter()
        .filter(|found| names::belongs_to(&found.labels, cluster))
        .collect();
    servers.sort_by(|a, b| a.name.cmp(&b.name));
    let first = names::node(cluster, Role::Server, 0);
    let Some(server) = servers
        .iter()
        .find(|found| found.state == ContainerState::Running)
    else {
        let detail = match servers.first() {
            None => format!("has no server node {first}"),
            Some(found) => format!(
                "has no running server node ({} is {}; start it with `docker start {}`)",
                found.name,
                found.state.to_string().to_lowercase(),
                found.name
            ),
        };
        return Err(Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            detail,
        });
    };
    let lb_name = names::node(cluster, Role::Lb, 0);
    let port = match docker
        .inspect_container(&lb_name)
        .await?
        .filter(|found| names::belongs_to(&found.labels, cluster))
    {
        Some(lb) => published_api_port(cluster, &lb)?,
        None => published_api_port(cluster, server)?,
    };
    Ok((server.name.clone(), port))
}

/// Reads the admin credentials of `cluster` from its first server node.
pub async fn read(docker: Arc<dyn DockerApi>, cluster: &str) -> Result<AdminCredentials> {
    let (name, port) = first_server(docker.as_ref(), cluster).await?;
    let node = DockerNode::new(docker, name.clone());
    let (code, output) = node.run_unchecked(&["cat", ADMIN_KUBECONFIG]).await?;
    if code != 0 {
        return Err(Error::AdminKubeconfig {
            node: name,
            path: ADMIN_KUBECONFIG.to_owned(),
            detail: format!(
                "not written yet ({}); clusterd server writes it once it has started",
                output.stderr.trim()
            ),
        });
    }
    AdminCredentials::parse(
        cluster,
        &name,
        &output.stdout,
        format!("https://127.0.0.1:{port}"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ADMIN: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster:\n    server: https://172.30.0.2:6443\n    certificate-authority-data: Q0E=\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\ncontexts:\n- name: kubernetes-admin@dev\n  context:\n    cluster: dev\n    user: kubernetes-admin\ncurrent-context: kubernetes-admin@dev\n";

    #[test]
    fn admin_kubeconfig_becomes_a_local_entry_on_the_host_port() {
        let admin = AdminCredentials::parse(
            "dev",
            "dev-server-0",
            ADMIN,
            "https://127.0.0.1:40001".into(),
        )
        .unwrap();
        let entry = admin.entry();
        assert_eq!(entry.name, "local-dev");
        assert_eq!(entry.cluster.server, "https://127.0.0.1:40001");
        assert_eq!(
            entry.cluster.certificate_authority_data.as_deref(),
            Some("Q0E=")
        );
        assert_eq!(
            entry.user.client_certificate_data.as_deref(),
            Some("Q0VSVA==")
        );
        assert_eq!(entry.user.client_key_data.as_deref(), Some("S0VZ"));
    }

    #[test]
    fn a_kubeconfig_without_credentials_names_the_node_and_the_field() {
        let text = ADMIN.replace("    client-key-data: S0VZ\n", "");
        let error = AdminCredentials::parse("dev", "dev-server-0", &text, "x".into())
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "admin kubeconfig /var/lib/clusterd/admin.kubeconfig in node dev-server-0: it has no client-key-data"
        );
    }
}
