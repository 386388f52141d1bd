//! Settings only GKE clusters use.

use serde::{Deserialize, Serialize};

/// The `gke:` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GkeConfig {
    /// Google Cloud project id the cluster is created in (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// VPC network name; defaults to `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Subnetwork name; GKE picks or creates one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnetwork: Option<String>,
}
