//! The one error type of the API server's startup and plumbing (request failures are `Status`
//! responses, see [`crate::response`]).

use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong starting or running the API server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster PKI could not be loaded or generated.
    #[error("load or generate the cluster pki under {dir}: {source}")]
    Pki {
        /// The PKI directory.
        dir: PathBuf,
        /// What the PKI crate said.
        source: clusterctl_pki::Error,
    },

    /// The service-account signing key is unusable.
    #[error("service-account signing key: {reason}")]
    ServiceAccountKey {
        /// Why.
        reason: String,
    },

    /// The TLS configuration could not be built from the PKI.
    #[error("tls configuration: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },

    /// The listening socket could not be opened.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },

    /// A file could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },

    /// A static token file line is malformed.
    #[error("token file {path}: line {line} needs at least token,user,uid")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },

    /// The admin kubeconfig could not be rendered or written.
    #[error("write admin kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What the kubeconfig crate said.
        source: clusterctl_kubeconfig::Error,
    },

    /// The datastore belongs to a cluster whose CA is not this server's (`ca.crt` under `dir`):
    /// a server joining a cluster needs a copy of the first server's CA and keys.
    #[error("the datastore belongs to the cluster first served at {cluster}, whose ca is not {dir}/ca.crt ({reason}): copy ca.crt, ca.key, front-proxy-ca.crt, front-proxy-ca.key, sa.key and sa.pub from the pki/ directory of one of its servers into {dir} and start again")]
    ForeignCa {
        /// This server's PKI directory.
        dir: PathBuf,
        /// The server the cluster's `kube-public/cluster-info` names.
        cluster: String,
        /// What differs.
        reason: &'static str,
    },

    /// The datastore failed during startup (opening, seeding namespaces and RBAC).
    #[error("{operation}: {source}")]
    Store {
        /// What was being done, with its key or URL.
        operation: String,
        /// What the store said.
        source: clusterd_store::Error,
    },
}

/// The API server's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
