//! A kube-rs client for a node identity given as PEM: what a server node needs to run its own
//! agent in-process with a client certificate issued straight from the cluster PKI
//! (`ClusterPki::issue_node_client`), without joining.

use base64::Engine;

use crate::{Error, Result};

/// A client for `server` (`https://host:port`) trusting `ca_pem` and presenting `cert_pem`/`key_pem`.
pub async fn node_client(
    server: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<kube::Client> {
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let yaml = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "clusterd", "cluster": { "server": server, "certificate-authority-data": b64(ca_pem) } }],
        "users": [{ "name": "node", "user": { "client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem) } }],
        "contexts": [{ "name": "node", "context": { "cluster": "clusterd", "user": "node" } }],
        "current-context": "node",
    })
    .to_string();
    let invalid = |reason: String| Error::invalid(format!("node credentials for {server}"), reason);
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&yaml).map_err(|e| invalid(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| invalid(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| invalid(e.to_string()))
}
