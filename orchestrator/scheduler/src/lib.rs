//! The clusterd scheduler: places pods on nodes like kube-scheduler's default profile.
//!
//! The decision is pure: [`PodInfo`] + [`ClusterSnapshot`] → [`schedule`] → a node name or an
//! [`Unschedulable`] explanation worded as upstream. Around it: the incremental snapshot fed by
//! watch events, the [`SchedulingQueue`] (priority, backoff, retry on cluster change) and
//! [`run`], the kube-rs loop that watches pods and nodes and binds through `pods/binding`.

mod filters;
mod node_affinity;
mod pod_info;
mod queue;
mod resources;
mod runner;
mod schedule;
mod scores;
mod snapshot;

pub use filters::{
    Reason, EXISTING_ANTI_AFFINITY, INSUFFICIENT_CPU, INSUFFICIENT_MEMORY, NODE_AFFINITY,
    NODE_NOT_READY, NODE_PORTS, NODE_UNSCHEDULABLE, POD_AFFINITY, POD_ANTI_AFFINITY, SPREAD,
    SPREAD_MISSING_LABEL, TOO_MANY_PODS,
};
pub use node_affinity::{term_matches, tolerated, tolerates};
pub use pod_info::{AffinityTerm, HostPort, PodInfo, SpreadConstraint};
pub use queue::{QueueConfig, SchedulingQueue};
pub use resources::{parse_quantity, pod_requests, PodRequests, Resources};
pub use runner::{run, SchedulerConfig, DEFAULT_SCHEDULER_NAME};
pub use schedule::{feasible_nodes_to_find, schedule, NodeName, Scheduler, Unschedulable};
pub use snapshot::{ClusterSnapshot, NodeInfo};

/// What can go wrong in the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A quantity (`100m`, `1Gi`) does not parse.
    #[error("invalid resource quantity {quantity:?}")]
    InvalidQuantity {
        /// The text as given.
        quantity: String,
    },
    /// A pod's spec cannot be understood (bad quantity or selector).
    #[error("cannot schedule pod {pod}: {reason}")]
    InvalidPod {
        /// `namespace/name`.
        pod: String,
        /// What is wrong.
        reason: String,
    },
    /// A node's status cannot be understood.
    #[error("cannot use node {node}: {reason}")]
    InvalidNode {
        /// The node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A node name is not in the snapshot.
    #[error("node {node} is not known to the scheduler")]
    UnknownNode {
        /// The node name.
        node: String,
    },
    /// A request to the API server failed.
    #[error("{operation} failed: {source}")]
    Api {
        /// What was being done (`bind pod default/web-1 to node-3`).
        operation: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A watch stream ended or failed.
    #[error("watching {resource} failed: {source}")]
    Watch {
        /// `pods` or `nodes`.
        resource: &'static str,
        /// The watcher error.
        #[source]
        source: kube::runtime::watcher::Error,
    },
}

/// Result of scheduler operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
