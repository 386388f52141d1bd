//! The agent's errors: each names the operation that failed and the object it was for.

/// What went wrong in the node agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("{operation} {target}: {source}")]
    Api {
        /// What the agent was doing, e.g. `register node`.
        operation: &'static str,
        /// The object, e.g. `node/worker-1` or `pod default/web`.
        target: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A call to the container runtime failed.
    #[error("{operation} for {target}: {source}")]
    Runtime {
        /// What the agent was doing, e.g. `start container`.
        operation: &'static str,
        /// The pod or container it was for.
        target: String,
        /// The runtime's error.
        #[source]
        source: Box<clusterd_cri::Error>,
    },
    /// A file or directory of the agent could not be written or read.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What the agent was doing, e.g. `write volume file`.
        operation: &'static str,
        /// The path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A setting or a pod spec cannot be used as given.
    #[error("{what}: {reason}")]
    Invalid {
        /// The setting or field, e.g. `--register-with-taints` or `pod default/web env FOO`.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// A feature this agent does not have yet.
    #[error("{0} is not built yet in this version of the clusterd agent")]
    NotBuilt(String),
}

impl Error {
    /// An API error for `operation` on `target`.
    pub fn api(operation: &'static str, target: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            operation,
            target: target.into(),
            source: Box::new(source),
        }
    }

    /// A runtime error for `operation` on `target`.
    pub fn runtime(
        operation: &'static str,
        target: impl Into<String>,
        source: clusterd_cri::Error,
    ) -> Self {
        Error::Runtime {
            operation,
            target: target.into(),
            source: Box::new(source),
        }
    }

    /// A filesystem error for `operation` on `path`.
    pub fn io(
        operation: &'static str,
        path: impl AsRef<std::path::Path>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            operation,
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// An invalid setting or spec field.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// True when the API server answered 404 Not Found.
    pub fn is_api_not_found(&self) -> bool {
        matches!(self, Error::Api { source, .. } if matches!(source.as_ref(), kube::Error::Api(s) if s.code == 404))
    }
}

/// The agent's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
