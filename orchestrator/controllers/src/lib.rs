//! The clusterd controller manager: the desired-state half of `clusterd server`.
//!
//! Each controller is a module with a pure core, `reconcile(object, &ClusterState) -> Vec<Change>`
//! (and `reconcile_all`), unit-tested without an API server. [`run_all`] is the runtime: it keeps a
//! [`ClusterState`] from watches, runs every controller after changes (and on a timer, for clocks),
//! applies the [`Change`]s through kube-rs, and does all that only while it holds the
//! `kube-system/clusterd-controllers` Lease ([`leader_election`]).

pub mod apply;
pub mod change;
pub mod cron;
pub mod cron_job;
pub mod csr;
pub mod daemon_set;
pub mod deployment;
pub mod endpoints;
pub mod garbage_collector;
pub mod job;
pub mod leader_election;
pub mod namespace;
pub mod node_ipam;
pub mod node_lifecycle;
pub mod pod_gc;
pub mod pod_template_hash;
pub mod pods;
pub mod replica_set;
pub mod rollout;
pub mod runtime;
pub mod service;
pub mod state;
pub mod stateful_set;

#[cfg(test)]
mod testing;

pub use change::{Change, Propagation, Target};
pub use runtime::{reconcile_pass, run_all};
pub use state::{ClusterState, ControllersConfig};

/// What can go wrong in the controllers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object cannot be reconciled as it is (bad selector, missing spec).
    #[error("cannot reconcile {kind} {namespace}/{name}: {reason}")]
    Invalid {
        /// Kind of the object.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A request to the API server failed.
    #[error("{operation} failed: {source}")]
    Api {
        /// What was being done, naming the object.
        operation: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A configuration value does not parse (service CIDR, cron schedule).
    #[error("invalid {field} {value:?}: {reason}")]
    Config {
        /// Which setting.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Invalid`] for an object.
    pub fn invalid(kind: &'static str, namespace: &str, name: &str, reason: &str) -> Error {
        Error::Invalid {
            kind,
            namespace: namespace.into(),
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result of controller operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Deep-merges `extra` into `base`: objects merge key by key, anything else is replaced.
pub(crate) fn merge_json(base: &mut serde_json::Value, extra: serde_json::Value) {
    match (base, extra) {
        (serde_json::Value::Object(b), serde_json::Value::Object(e)) => {
            for (k, v) in e {
                merge_json(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}
