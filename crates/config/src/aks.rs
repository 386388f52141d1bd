//! Settings only AKS clusters use.

use serde::{Deserialize, Serialize};

/// The `aks:` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AksConfig {
    /// Resource group the cluster is created in; defaults to `<name>-rg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// Azure subscription id (a UUID); the credentials' default subscription when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
}
