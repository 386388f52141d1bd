//! Where every certificate and key of a cluster lives, like kubeadm's `/etc/kubernetes/pki`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Every PKI file path of one cluster, all under one directory.
///
/// ```text
/// <dir>/ca.crt ca.key                         cluster CA
/// <dir>/apiserver.crt apiserver.key           API server serving certificate
/// <dir>/admin.crt admin.key                   kubernetes-admin client certificate
/// <dir>/sa.key sa.pub                         service-account token signing key pair
/// <dir>/front-proxy-ca.crt front-proxy-ca.key front-proxy (aggregation) CA
/// <dir>/front-proxy-client.crt .key           front-proxy client certificate
/// <dir>/nodes/<node>.crt <node>.key           node client certificate (system:node:<node>)
/// <dir>/nodes/<node>-serving.crt .key         node agent serving certificate
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    dir: PathBuf,
}

impl PkiPaths {
    /// The paths of a PKI rooted at `dir` (nothing is touched on disk).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory holding everything.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The cluster CA private key (PEM).
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// The API server serving certificate.
    pub fn apiserver_cert(&self) -> PathBuf {
        self.dir.join("apiserver.crt")
    }

    /// The API server serving key.
    pub fn apiserver_key(&self) -> PathBuf {
        self.dir.join("apiserver.key")
    }

    /// The `kubernetes-admin` client certificate.
    pub fn admin_cert(&self) -> PathBuf {
        self.dir.join("admin.crt")
    }

    /// The `kubernetes-admin` client key.
    pub fn admin_key(&self) -> PathBuf {
        self.dir.join("admin.key")
    }

    /// The service-account token signing key (PKCS#8 PEM, private).
    pub fn sa_key(&self) -> PathBuf {
        self.dir.join("sa.key")
    }

    /// The service-account token verification key (SubjectPublicKeyInfo PEM).
    pub fn sa_pub(&self) -> PathBuf {
        self.dir.join("sa.pub")
    }

    /// The front-proxy CA certificate.
    pub fn front_proxy_ca_cert(&self) -> PathBuf {
        self.dir.join("front-proxy-ca.crt")
    }

    /// The front-proxy CA private key.
    pub fn front_proxy_ca_key(&self) -> PathBuf {
        self.dir.join("front-proxy-ca.key")
    }

    /// The front-proxy client certificate.
    pub fn front_proxy_client_cert(&self) -> PathBuf {
        self.dir.join("front-proxy-client.crt")
    }

    /// The front-proxy client key.
    pub fn front_proxy_client_key(&self) -> PathBuf {
        self.dir.join("front-proxy-client.key")
    }

    /// The directory holding per-node certificates.
    pub fn nodes_dir(&self) -> PathBuf {
        self.dir.join("nodes")
    }

    /// The client certificate of node `node` (rejects names that are not DNS-1123 subdomains).
    pub fn node_client_cert(&self, node: &str) -> Result<PathBuf> {
        self.node_file(node, ".crt")
    }

    /// The client key of node `node`.
    pub fn node_client_key(&self, node: &str) -> Result<PathBuf> {
        self.node_file(node, ".key")
    }

    /// The serving certificate of the agent on node `node`.
    pub fn node_serving_cert(&self, node: &str) -> Result<PathBuf> {
        self.node_file(node, "-serving.crt")
    }

    /// The serving key of the agent on node `node`.
    pub fn node_serving_key(&self, node: &str) -> Result<PathBuf> {
        self.node_file(node, "-serving.key")
    }

    /// The lock file that serialises writers of this directory.
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.dir.join(".lock")
    }

    fn node_file(&self, node: &str, suffix: &str) -> Result<PathBuf> {
        validate_node_name(node)?;
        Ok(self.nodes_dir().join(format!("{node}{suffix}")))
    }
}

/// Checks that `name` is a DNS-1123 subdomain, as Kubernetes requires of node names.
pub fn validate_node_name(name: &str) -> Result<()> {
    let reject = |reason: &str| {
        Err(Error::InvalidNodeName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return reject("it is empty");
    }
    if name.len() > 253 {
        return reject("it is longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return reject("each dot-separated part must be 1 to 63 characters");
        }
        let ok_chars = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars {
            return reject("only lowercase letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return reject("each part must start and end with a letter or digit");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_paths_live_under_nodes_dir() {
        let paths = PkiPaths::new("/etc/clusterd/pki");
        assert_eq!(
            paths.node_client_cert("worker-1").unwrap(),
            Path::new("/etc/clusterd/pki/nodes/worker-1.crt")
        );
        assert_eq!(
            paths.node_serving_key("worker-1").unwrap(),
            Path::new("/etc/clusterd/pki/nodes/worker-1-serving.key")
        );
    }

    #[test]
    fn node_names_that_could_escape_the_directory_are_rejected() {
        let paths = PkiPaths::new("/pki");
        for bad in ["../ca", "a/b", "", "Upper", "-lead", "trail-", "a..b"] {
            let err = paths.node_client_cert(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("invalid node name"),
                "{bad:?} gave {err}"
            );
        }
    }

    #[test]
    fn dotted_node_names_are_accepted() {
        assert!(validate_node_name("ip-10-0-0-1.ec2.internal").is_ok());
    }
}
