//! The node's heartbeat: its Lease in `kube-node-lease`.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::{AgentConfig, Error, Result};

/// How long the Lease is valid without renewal (kubelet's default).
pub const LEASE_DURATION_SECONDS: i32 = 40;

/// Creates or renews `kube-node-lease/<node>` with the current time.
pub async fn renew_lease(client: &kube::Client, config: &AgentConfig) -> Result<Lease> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": { "name": config.node_name, "namespace": "kube-node-lease" },
        "spec": {
            "holderIdentity": config.node_name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": Timestamp::now().to_string(),
        },
    });
    leases
        .patch(
            &config.node_name,
            &PatchParams::apply("clusterd-agent").force(),
            &Patch::Apply(&lease),
        )
        .await
        .map_err(|e| {
            Error::api(
                "renew lease",
                format!("kube-node-lease/{}", config.node_name),
                e,
            )
        })
}
