//! Settings only EKS clusters use.

use serde::{Deserialize, Serialize};

/// The `eks:` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EksConfig {
    /// The VPC to use or create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<Vpc>,
    /// Existing IAM roles to use instead of creating them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<Iam>,
    /// EKS managed node groups (true, the default) or self-managed Auto Scaling groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
}

/// The VPC an EKS cluster lives in: an existing one (`id` + `subnets`) or a new one (`cidr`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vpc {
    /// Existing VPC id (`vpc-0abc...`); when unset clusterctl creates a VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// CIDR of the VPC; defaults to 192.168.0.0/16 for a new VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// Existing subnets to place nodes and load balancers in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Subnets>,
}

/// Existing subnet ids, by reachability.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Subnets {
    /// Subnets with a route to an internet gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public: Vec<String>,
    /// Subnets without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private: Vec<String>,
}

/// Existing IAM roles.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iam {
    /// Role the EKS control plane assumes.
    #[serde(
        rename = "serviceRoleARN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_role_arn: Option<String>,
    /// Role the worker nodes assume.
    #[serde(
        rename = "nodeRoleARN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub node_role_arn: Option<String>,
}
