//! What controllers read: the objects they watch, kept by the runtime from watch events and from
//! the results of their own writes, plus the clock. Pure reconcilers take `&ClusterState`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::{Metadata, Resource};
use serde_json::Value;

/// Objects of one kind by `namespace/name` (or `name` when cluster-scoped).
pub type Objects<K> = BTreeMap<String, K>;

/// Every object the controllers watch, and the time of this pass.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// The clock reading reconcilers compare timestamps with.
    pub now: Timestamp,
    /// Namespaces.
    pub namespaces: Objects<Namespace>,
    /// Nodes.
    pub nodes: Objects<Node>,
    /// Node heartbeats (`kube-node-lease` Leases).
    pub leases: Objects<Lease>,
    /// Pods.
    pub pods: Objects<Pod>,
    /// ReplicaSets.
    pub replica_sets: Objects<ReplicaSet>,
    /// Deployments.
    pub deployments: Objects<Deployment>,
    /// DaemonSets.
    pub daemon_sets: Objects<DaemonSet>,
    /// StatefulSets.
    pub stateful_sets: Objects<StatefulSet>,
    /// Jobs.
    pub jobs: Objects<Job>,
    /// CronJobs.
    pub cron_jobs: Objects<CronJob>,
    /// Services.
    pub services: Objects<Service>,
    /// Endpoints.
    pub endpoints: Objects<Endpoints>,
    /// EndpointSlices.
    pub endpoint_slices: Objects<EndpointSlice>,
    /// ServiceAccounts.
    pub service_accounts: Objects<ServiceAccount>,
}

impl Default for ClusterState {
    fn default() -> Self {
        Self {
            now: Timestamp::UNIX_EPOCH,
            namespaces: Objects::new(),
            nodes: Objects::new(),
            leases: Objects::new(),
            pods: Objects::new(),
            replica_sets: Objects::new(),
            deployments: Objects::new(),
            daemon_sets: Objects::new(),
            stateful_sets: Objects::new(),
            jobs: Objects::new(),
            cron_jobs: Objects::new(),
            services: Objects::new(),
            endpoints: Objects::new(),
            endpoint_slices: Objects::new(),
            service_accounts: Objects::new(),
        }
    }
}

/// The map key of an object: `namespace/name` or `name`.
pub fn key_of(meta: &ObjectMeta) -> String {
    match &meta.namespace {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
        None => meta.name.clone().unwrap_or_default(),
    }
}

fn put<K: Metadata<Ty = ObjectMeta> + serde::de::DeserializeOwned>(
    map: &mut Objects<K>,
    object: Value,
) -> bool {
    match serde_json::from_value::<K>(object) {
        Ok(typed) => {
            map.insert(key_of(typed.metadata()), typed);
            true
        }
        Err(error) => {
            tracing::warn!(%error, "ignoring an object that does not decode");
            false
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $kind:expr, $action:ident $(, $arg:expr)*) => {
        match $kind {
            k if k == Namespace::KIND => $action(&mut $self.namespaces $(, $arg)*),
            k if k == Node::KIND => $action(&mut $self.nodes $(, $arg)*),
            k if k == Lease::KIND => $action(&mut $self.leases $(, $arg)*),
            k if k == Pod::KIND => $action(&mut $self.pods $(, $arg)*),
            k if k == ReplicaSet::KIND => $action(&mut $self.replica_sets $(, $arg)*),
            k if k == Deployment::KIND => $action(&mut $self.deployments $(, $arg)*),
            k if k == DaemonSet::KIND => $action(&mut $self.daemon_sets $(, $arg)*),
            k if k == StatefulSet::KIND => $action(&mut $self.stateful_sets $(, $arg)*),
            k if k == Job::KIND => $action(&mut $self.jobs $(, $arg)*),
            k if k == CronJob::KIND => $action(&mut $self.cron_jobs $(, $arg)*),
            k if k == Service::KIND => $action(&mut $self.services $(, $arg)*),
            k if k == Endpoints::KIND => $action(&mut $self.endpoints $(, $arg)*),
            k if k == EndpointSlice::KIND => $action(&mut $self.endpoint_slices $(, $arg)*),
            k if k == ServiceAccount::KIND => $action(&mut $self.service_accounts $(, $arg)*),
            _ => false,
        }
    };
}

fn remove<K>(map: &mut Objects<K>, key: &str) -> bool {
    map.remove(key).is_some()
}

fn clear<K>(map: &mut Objects<K>) -> bool {
    map.clear();
    true
}

impl ClusterState {
    /// Stores an object of `kind` given as JSON; false if the kind is not tracked or it does not decode.
    pub fn upsert(&mut self, kind: &str, object: Value) -> bool {
        dispatch!(self, kind, put, object)
    }

    /// Forgets an object of `kind` by key.
    pub fn remove(&mut self, kind: &str, key: &str) -> bool {
        dispatch!(self, kind, remove, key)
    }

    /// Forgets every object of `kind` (before a relist).
    pub fn clear(&mut self, kind: &str) -> bool {
        dispatch!(self, kind, clear)
    }

    /// Pods in a namespace.
    pub fn pods_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Pod> + 'a {
        let prefix = format!("{namespace}/");
        self.pods
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, p)| p)
    }
}

/// Settings of the controllers (upstream kube-controller-manager defaults). ClusterIPs and
/// NodePorts are allocated by the API server, so their ranges are configured there.
#[derive(Debug, Clone)]
pub struct ControllersConfig {
    /// A node whose lease is older than this is NotReady/Unknown (`--node-monitor-grace-period`, 40 s).
    pub node_monitor_grace_period: std::time::Duration,
    /// Default toleration for not-ready/unreachable NoExecute taints (300 s).
    pub pod_eviction_timeout: std::time::Duration,
    /// Identity in the leader-election lease (host name + unique suffix).
    pub identity: String,
    /// Leader-election timings.
    pub leader_election: crate::leader_election::LeaderElectionConfig,
    /// The cluster CA that signs approved CertificateSigningRequests; `None` leaves them unsigned
    /// (and unapproved: the `csr` controller does not run).
    pub csr_signer: Option<std::sync::Arc<crate::csr::CsrSigner>>,
    /// The range node pod CIDRs are carved from (`--cluster-cidr`, 10.244.0.0/16).
    pub cluster_cidr: String,
    /// The prefix length of each node's pod CIDR (`--node-cidr-mask-size`, 24).
    pub node_cidr_mask_size: u8,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        Self {
            node_monitor_grace_period: std::time::Duration::from_secs(40),
            pod_eviction_timeout: std::time::Duration::from_secs(300),
            identity: "clusterd".into(),
            leader_election: crate::leader_election::LeaderElectionConfig::default(),
            csr_signer: None,
            cluster_cidr: "10.244.0.0/16".into(),
            node_cidr_mask_size: 24,
        }
    }
}
