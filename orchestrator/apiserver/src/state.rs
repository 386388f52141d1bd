//! Everything a request handler shares: the store, the registry (built-ins plus CRDs), the
//! authenticators, RBAC, metrics and the allocation lock of service addresses.

use std::sync::{RwLock, RwLockReadGuard};

use clusterd_apimachinery::registry::Registry;
use clusterd_store::ListOptions;

use crate::node_client::NodeClient;
use crate::storage::ObjectStore;

use crate::authn::{StaticTokens, TokenSigner};
use crate::authz::Rbac;
use crate::metrics::Metrics;

/// The store prefix of CustomResourceDefinitions.
pub const CRD_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

/// The shared state of a running API server.
#[derive(Debug)]
pub struct ApiState {
    /// The datastore.
    pub store: ObjectStore,
    /// Served resources: built-ins plus established CRDs.
    registry: RwLock<Registry>,
    /// The RBAC view, kept current by a watch.
    pub rbac: Rbac,
    /// Request counters.
    pub metrics: Metrics,
    /// Issues and verifies service-account tokens.
    pub signer: TokenSigner,
    /// The static token file's users (empty when none was given).
    pub static_tokens: StaticTokens,
    /// Service address allocation (serialised so two creates never get one address).
    pub allocation: tokio::sync::Mutex<()>,
    /// The service CIDR ClusterIPs come from (`10.96.0.0/12`).
    pub service_cidr: String,
    /// `host:port` clients reach the server at (legacy discovery's serverAddress).
    pub advertise_address: String,
    /// Dials node agents for logs and exec (set at start from the PKI).
    node_client: std::sync::OnceLock<NodeClient>,
}

impl ApiState {
    /// State over `store`, signing tokens with `signer`.
    pub fn new(
        store: ObjectStore,
        signer: TokenSigner,
        static_tokens: StaticTokens,
        service_cidr: String,
        advertise_address: String,
    ) -> Self {
        Self {
            store,
            registry: RwLock::new(Registry::builtin()),
            rbac: Rbac::new(),
            metrics: Metrics::new(),
            signer,
            static_tokens,
            allocation: tokio::sync::Mutex::new(()),
            service_cidr,
            advertise_address,
            node_client: std::sync::OnceLock::new(),
        }
    }

    /// Sets the client that dials node agents (once; later calls are ignored).
    pub fn set_node_client(&self, client: NodeClient) {
        let _ = self.node_client.set(client);
    }

    /// The client that dials node agents, if one was set.
    pub fn node_client(&self) -> Option<&NodeClient> {
        self.node_client.get()
    }

    /// The registry as it is now.
    pub fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the stored CRD `name` (or every stored CRD when `None`); a CRD that no longer
    /// exists is unregistered.
    pub async fn reload_crds(&self, name: Option<&str>) {
        let keys: Vec<String> = match name {
            Some(name) => vec![format!("{CRD_PREFIX}{name}")],
            None => match self.store.list(CRD_PREFIX, ListOptions::latest()).await {
                Ok(page) => page.items.into_iter().map(|kv| kv.key).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "list custom resource definitions");
                    return;
                }
            },
        };
        for key in keys {
            let name = key.trim_start_matches(CRD_PREFIX).to_owned();
            match self.store.get(&key).await {
                Ok(Some(kv)) => {
                    let Ok(crd) = serde_json::from_slice::<serde_json::Value>(&kv.value) else {
                        continue;
                    };
                    let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = registry.register_crd(&crd) {
                        tracing::warn!(crd = %name, error = %e, "custom resource definition not served");
                    }
                }
                Ok(None) => self.forget_crd(&name),
                Err(e) => {
                    tracing::warn!(crd = %name, error = %e, "read custom resource definition")
                }
            }
        }
    }

    /// Serves a resource that is not stored as a CRD (the metrics API), listed in discovery.
    pub fn register_custom(
        &self,
        custom: &clusterd_apimachinery::registry::CustomResource,
    ) -> Result<(), clusterd_apimachinery::registry::Error> {
        let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
        registry.register_custom(custom).map(|_| ())
    }

    /// Stops serving the custom resource of CRD `name` (`<plural>.<group>`).
    pub fn forget_crd(&self, name: &str) {
        if let Some((plural, group)) = name.split_once('.') {
            self.registry
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .unregister_custom(group, plural);
        }
    }
}
