//! The local provider's error: which Docker call or node command failed, on what, and what to do.

use std::path::PathBuf;

use clusterctl_provider_api::{ProviderError, RunError};

/// Everything that can go wrong in the local provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker daemon cannot be reached at all.
    #[error("cannot reach the Docker daemon: {detail}; start it (`scripts/setup-docker`, or `dockerd &`) or set DOCKER_HOST")]
    DockerUnreachable {
        /// The client's error chain.
        detail: String,
    },
    /// A Docker Engine API call failed.
    #[error("docker {operation} {resource}: {detail}")]
    Docker {
        /// The call, in docker CLI words ("create container", "remove network").
        operation: &'static str,
        /// What it was about (container, network, image or volume name).
        resource: String,
        /// The daemon's message or the transport error.
        detail: String,
    },
    /// A command run inside a node container exited non-zero (or could not start).
    #[error(transparent)]
    Run(#[from] RunError),
    /// A resource with this name exists but does not carry this cluster's label.
    #[error("{what} {name:?} already exists and does not belong to cluster {cluster:?}; remove it or choose another cluster name")]
    NotOwned {
        /// Kind of resource ("container", "network", "volume").
        what: &'static str,
        /// Its name.
        name: String,
        /// The cluster clusterctl was working on.
        cluster: String,
    },
    /// The node image is missing and was not built.
    #[error("node image {reference} is not in Docker; build it with `clusterctl build node-image` or load it with `docker load`")]
    ImageMissing {
        /// The image reference, e.g. `clusterctl/node:v0.1.0`.
        reference: String,
    },
    /// Building the node image's root filesystem failed.
    #[error("build node rootfs with `{command}`: {detail}")]
    Rootfs {
        /// The shell-pasteable command that failed.
        command: String,
        /// Exit status and the tail of its output, or the spawn error.
        detail: String,
    },
    /// A local file (rootfs cache, recipe) could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done ("read rootfs cache", "create cache directory").
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The clusterd binary copied into a node does not have the expected digest there.
    #[error("clusterd in node {node} has sha256 {actual}, expected {expected}; the upload was corrupted, re-run to copy it again")]
    DigestMismatch {
        /// The node container.
        node: String,
        /// The digest of the bytes clusterctl carries.
        expected: String,
        /// What `sha256sum` reported inside the node.
        actual: String,
    },
    /// The bundled clusterd could not be located or read.
    #[error(transparent)]
    Bundle(#[from] clusterctl_bundle::Error),
    /// No container of this cluster exists (or none of the needed role).
    #[error("cluster {cluster:?} {detail}; `clusterctl get clusters --provider local` lists the clusters on this Docker daemon")]
    ClusterNotFound {
        /// The cluster name.
        cluster: String,
        /// What is missing ("has no server node", "does not exist").
        detail: String,
    },
    /// The admin kubeconfig clusterd wrote inside the server node is missing or unusable.
    #[error("admin kubeconfig {path} in node {node}: {detail}")]
    AdminKubeconfig {
        /// The server node container.
        node: String,
        /// The path inside the node.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A call to the cluster's Kubernetes API failed.
    #[error("{operation} on the API server of cluster {cluster} ({server}): {detail}")]
    Api {
        /// What was asked ("GET /readyz", "list nodes").
        operation: String,
        /// The cluster name.
        cluster: String,
        /// The API server URL used.
        server: String,
        /// The client's error chain or the server's answer.
        detail: String,
    },
    /// A node or the cluster is not (yet) in the state a step needs: a node without an address,
    /// an API server that did not answer in time, nodes that did not become Ready.
    #[error("{detail}")]
    NotReady {
        /// What is not ready, why, and the tail of the clusterd logs concerned.
        detail: String,
    },
    /// The user's kubeconfig could not be read or written.
    #[error(transparent)]
    Kubeconfig(#[from] clusterctl_kubeconfig::Error),
    /// Certificates (the etcd CA of an HA cluster) could not be made.
    #[error("etcd certificates: {0}")]
    Pki(#[from] clusterctl_pki::Error),
    /// The request is invalid before anything is done (bad cluster name, no free port).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Result of local-provider operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failed Docker call on `resource`.
    pub(crate) fn docker(
        operation: &'static str,
        resource: impl Into<String>,
        detail: impl std::fmt::Display,
    ) -> Self {
        Self::Docker {
            operation,
            resource: resource.into(),
            detail: detail.to_string(),
        }
    }

    /// A failed filesystem operation on `path`.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            operation,
            path,
            source,
        }
    }
}

impl From<Error> for ProviderError {
    fn from(error: Error) -> Self {
        match error {
            Error::Run(run) => ProviderError::Run(run),
            Error::Invalid(message) => ProviderError::InvalidRequest { message },
            Error::ClusterNotFound { cluster, detail } => ProviderError::NotFound {
                what: "local cluster",
                name: cluster,
                hint: Some(format!(
                    "it {detail}; `clusterctl get clusters --provider local` lists the clusters on this Docker daemon"
                )),
            },
            other => ProviderError::Other(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_error_names_the_operation_and_resource() {
        let error = Error::docker(
            "remove network",
            "clusterctl-dev",
            "network has active endpoints",
        );
        assert_eq!(
            error.to_string(),
            "docker remove network clusterctl-dev: network has active endpoints"
        );
    }

    #[test]
    fn not_owned_tells_the_user_what_to_do() {
        let error = Error::NotOwned {
            what: "container",
            name: "dev-server-0".into(),
            cluster: "dev".into(),
        };
        let text = error.to_string();
        assert!(text.contains("\"dev-server-0\""), "{text}");
        assert!(
            text.contains("remove it or choose another cluster name"),
            "{text}"
        );
    }

    #[test]
    fn node_command_failures_stay_run_errors_for_the_cli() {
        let run = RunError {
            host: "dev-server-0".into(),
            command: vec!["sha256sum".into(), "/usr/local/bin/clusterd".into()],
            output: "No such file".into(),
            source: None,
        };
        let provider: ProviderError = Error::Run(run).into();
        assert!(matches!(provider, ProviderError::Run(_)));
    }
}
