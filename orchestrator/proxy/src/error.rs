//! The proxy's errors: each names the operation that failed and carries its input.

/// What went wrong in the service proxy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An external command (iptables-restore, ip, sysctl) could not start or exited with failure.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line, shell-pasteable.
        command: String,
        /// Its stderr (or the reason it could not start).
        output: String,
    },
    /// A configuration value is unusable.
    #[error("invalid proxy setting {field}={value:?}: {reason}")]
    Config {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The watches of Services, EndpointSlices or Nodes ended.
    #[error("the {kind} watch ended: {reason}")]
    Watch {
        /// The watched kind.
        kind: &'static str,
        /// Why.
        reason: String,
    },
}

/// The proxy's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
