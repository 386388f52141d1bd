//! What the provider is asked to build, read once from a validated, defaulted ClusterConfig.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterctl_config::{ClusterConfig, NodeGroup, TaintEffect};

use crate::api::{NodeTaint, Tags};
use crate::{Error, Result};

/// How long to wait for the cluster or a node group to become ACTIVE (EKS takes 10-15 minutes).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30 * 60);

/// The network a cluster lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcChoice {
    /// clusterctl creates (and owns) a VPC with this CIDR.
    Create {
        /// The VPC CIDR, e.g. `192.168.0.0/16`.
        cidr: String,
    },
    /// An existing VPC and subnets, which clusterctl never deletes.
    Existing {
        /// VPC id.
        id: Option<String>,
        /// Public subnet ids.
        public: Vec<String>,
        /// Private subnet ids.
        private: Vec<String>,
    },
}

/// One managed node group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodegroupSpec {
    /// Name.
    pub name: String,
    /// Instance type.
    pub instance_type: String,
    /// Desired size.
    pub desired: i32,
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Root volume GiB.
    pub disk_size: Option<i32>,
    /// Node labels.
    pub labels: BTreeMap<String, String>,
    /// Node taints, EKS spelling.
    pub taints: Vec<NodeTaint>,
}

/// Everything the create steps need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Kubernetes minor version.
    pub version: String,
    /// The user's tags, put on every resource.
    pub tags: Tags,
    /// The VPC.
    pub vpc: VpcChoice,
    /// Existing control-plane role ARN, else clusterctl creates one.
    pub service_role_arn: Option<String>,
    /// Existing node role ARN, else clusterctl creates one.
    pub node_role_arn: Option<String>,
    /// CIDR of Service cluster IPs (`networking.serviceSubnet`).
    pub service_cidr: Option<String>,
    /// Node groups.
    pub nodegroups: Vec<NodegroupSpec>,
    /// Bound on each wait.
    pub wait: Duration,
}

/// The EKS spelling of a Kubernetes taint effect.
pub fn eks_effect(effect: TaintEffect) -> &'static str {
    match effect {
        TaintEffect::NoSchedule => "NO_SCHEDULE",
        TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
        TaintEffect::NoExecute => "NO_EXECUTE",
    }
}

/// A node group from the config (defaulted: name, type and sizes are set).
pub fn nodegroup_spec(group: &NodeGroup, index: usize) -> Result<NodegroupSpec> {
    let name = group
        .name
        .clone()
        .unwrap_or_else(|| format!("ng-{}", index + 1));
    // eksctl's rule: 2 nodes unless told, kept within any bounds given.
    let desired = group.desired_capacity.unwrap_or_else(|| {
        let lo = group.min_size.unwrap_or(0);
        2.clamp(lo, group.max_size.unwrap_or(i32::MAX).max(lo))
    });
    Ok(NodegroupSpec {
        instance_type: group
            .instance_type
            .clone()
            .ok_or_else(|| Error::Invalid(format!("node group {name}: instanceType is not set")))?,
        desired,
        min: group.min_size.unwrap_or(desired),
        max: group.max_size.unwrap_or(desired),
        disk_size: group.volume_size,
        labels: group.labels.clone(),
        taints: group
            .taints
            .iter()
            .map(|t| NodeTaint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: eks_effect(t.effect).to_owned(),
            })
            .collect(),
        name,
    })
}

impl ClusterSpec {
    /// Reads the spec from a validated, defaulted config, with `wait` bounding each wait.
    pub fn from_config(config: &ClusterConfig, wait: Option<Duration>) -> Result<Self> {
        let eks = config.eks.clone().unwrap_or_default();
        let vpc = eks.vpc.unwrap_or_default();
        let subnets = vpc.subnets.unwrap_or_default();
        let existing =
            vpc.id.is_some() || !subnets.public.is_empty() || !subnets.private.is_empty();
        let vpc = if existing {
            VpcChoice::Existing {
                id: vpc.id,
                public: subnets.public,
                private: subnets.private,
            }
        } else {
            VpcChoice::Create {
                cidr: vpc.cidr.unwrap_or_else(|| "192.168.0.0/16".to_owned()),
            }
        };
        if eks.managed == Some(false) {
            return Err(Error::Invalid(
                "self-managed node groups (eks.managed: false) are not supported; use managed node groups".to_owned(),
            ));
        }
        let iam = eks.iam.unwrap_or_default();
        Ok(ClusterSpec {
            name: config.name().to_owned(),
            version: config.kubernetes_version().to_owned(),
            tags: config.metadata.tags.clone(),
            vpc,
            service_role_arn: iam.service_role_arn,
            node_role_arn: iam.node_role_arn,
            service_cidr: config.networking.service_subnet.clone(),
            nodegroups: config
                .node_groups
                .iter()
                .enumerate()
                .map(|(i, g)| nodegroup_spec(g, i))
                .collect::<Result<_>>()?,
            wait: wait.unwrap_or(DEFAULT_WAIT),
        })
    }
}

/// The `index`-th of 8 equal subnets of an IPv4 `cidr` (a /16 gives /19s, as eksctl).
pub fn subnet_cidr(cidr: &str, index: u32) -> Result<String> {
    let bad = || {
        Error::Invalid(format!(
            "VPC CIDR {cidr:?} is not an IPv4 block between /16 and /24"
        ))
    };
    let (addr, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    if !(16..=24).contains(&prefix) || index >= 8 {
        return Err(bad());
    }
    let sub_prefix = prefix + 3;
    let base = u32::from(addr) & (u32::MAX << (32 - prefix));
    let start = base + (index << (32 - sub_prefix));
    Ok(format!("{}/{sub_prefix}", std::net::Ipv4Addr::from(start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_split_the_vpc_like_eksctl() {
        assert_eq!(subnet_cidr("192.168.0.0/16", 0).unwrap(), "192.168.0.0/19");
        assert_eq!(subnet_cidr("192.168.0.0/16", 3).unwrap(), "192.168.96.0/19");
        assert_eq!(subnet_cidr("10.0.0.0/20", 1).unwrap(), "10.0.2.0/23");
        assert!(subnet_cidr("10.0.0.0/8", 0).is_err());
    }

    #[test]
    fn default_size_stays_within_the_bounds_given() {
        let group = NodeGroup {
            name: Some("big".into()),
            instance_type: Some("m5.large".into()),
            min_size: Some(3),
            max_size: Some(5),
            ..NodeGroup::default()
        };
        let spec = nodegroup_spec(&group, 0).unwrap();
        assert_eq!((spec.desired, spec.min, spec.max), (3, 3, 5));
    }

    #[test]
    fn config_node_groups_become_eks_node_groups_with_eks_taints() {
        let yaml = r#"
apiVersion: clusterctl.io/v1alpha1
kind: Cluster
metadata: { name: dev, region: us-west-2 }
provider: eks
nodeGroups:
  - name: gpu
    instanceType: g5.xlarge
    desiredCapacity: 1
    minSize: 0
    maxSize: 2
    volumeSize: 100
    labels: { role: gpu }
    taints: [{ key: gpu, value: "true", effect: NoSchedule }]
"#;
        let config = ClusterConfig::from_yaml_str(yaml, "t.yaml")
            .unwrap()
            .defaulted();
        let spec = ClusterSpec::from_config(&config, None).unwrap();
        let ng = &spec.nodegroups[0];
        assert_eq!(
            (ng.desired, ng.min, ng.max, ng.disk_size),
            (1, 0, 2, Some(100))
        );
        assert_eq!(ng.taints[0].effect, "NO_SCHEDULE");
        assert_eq!(
            spec.vpc,
            VpcChoice::Create {
                cidr: "192.168.0.0/16".into()
            }
        );
    }
}
