//! Narrow traits over the four AWS clients this provider uses — only the calls it makes — so the
//! step flow is unit-testable with the recording fake beside them (like eksctl's interfaces over
//! each AWS client). [`sdk`] holds the real implementations over the AWS SDK for Rust.
//!
//! The traits return boxed futures so that steps can hold them as `Arc<dyn …>`.

#[cfg(test)]
pub(crate) mod fake;
pub mod sdk;

use std::collections::BTreeMap;
use std::sync::Arc;

use clusterctl_steps::BoxFuture;

use crate::Result;

/// Tags as AWS stores them.
pub type Tags = BTreeMap<String, String>;

/// An EKS cluster as `DescribeCluster` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    /// Cluster name.
    pub name: String,
    /// Cluster ARN.
    pub arn: String,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, `FAILED`.
    pub status: String,
    /// Kubernetes minor version, e.g. `1.32`.
    pub version: String,
    /// API server URL, once the cluster has one.
    pub endpoint: Option<String>,
    /// Base64 of the cluster CA bundle, once the cluster has one.
    pub certificate_authority: Option<String>,
    /// Subnets of the control plane.
    pub subnet_ids: Vec<String>,
    /// The cluster's tags.
    pub tags: Tags,
}

/// What `CreateCluster` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCluster {
    /// Cluster name.
    pub name: String,
    /// Kubernetes minor version.
    pub version: String,
    /// ARN of the role the control plane assumes.
    pub role_arn: String,
    /// Subnets the control plane places its network interfaces in.
    pub subnet_ids: Vec<String>,
    /// Extra security groups for those interfaces.
    pub security_group_ids: Vec<String>,
    /// CIDR of Service cluster IPs; EKS picks one when unset.
    pub service_cidr: Option<String>,
    /// Tags for the cluster.
    pub tags: Tags,
}

/// A managed node group as `DescribeNodegroup` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodegroupInfo {
    /// Cluster it belongs to.
    pub cluster: String,
    /// Node group name.
    pub name: String,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, ...
    pub status: String,
    /// Instance types.
    pub instance_types: Vec<String>,
    /// Desired size.
    pub desired: i32,
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Kubernetes version of the nodes.
    pub version: Option<String>,
    /// The node group's tags.
    pub tags: Tags,
}

/// A taint as EKS spells it (`NO_SCHEDULE`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTaint {
    /// Key.
    pub key: String,
    /// Value, possibly empty.
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `PREFER_NO_SCHEDULE` or `NO_EXECUTE`.
    pub effect: String,
}

/// What `CreateNodegroup` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNodegroup {
    /// Cluster to add it to.
    pub cluster: String,
    /// Node group name.
    pub name: String,
    /// Node IAM role ARN.
    pub node_role_arn: String,
    /// Subnets the nodes are placed in.
    pub subnet_ids: Vec<String>,
    /// Instance types.
    pub instance_types: Vec<String>,
    /// Desired size.
    pub desired: i32,
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Root volume size in GiB.
    pub disk_size: Option<i32>,
    /// Kubernetes labels of the nodes.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints of the nodes.
    pub taints: Vec<NodeTaint>,
    /// Tags of the node group.
    pub tags: Tags,
}

/// The EKS calls this provider makes.
pub trait EksApi: Send + Sync {
    /// `ListClusters`, every page.
    fn list_clusters(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// `DescribeCluster`; `None` when there is no such cluster.
    fn describe_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterInfo>>>;
    /// `CreateCluster`.
    fn create_cluster<'a>(&'a self, cluster: &'a NewCluster) -> BoxFuture<'a, Result<ClusterInfo>>;
    /// `DeleteCluster`.
    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// `UpdateClusterVersion`.
    fn update_cluster_version<'a>(
        &'a self,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
    /// `ListNodegroups`, every page.
    fn list_nodegroups<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<String>>>;
    /// `DescribeNodegroup`; `None` when there is no such node group.
    fn describe_nodegroup<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<NodegroupInfo>>>;
    /// `CreateNodegroup`.
    fn create_nodegroup<'a>(
        &'a self,
        nodegroup: &'a NewNodegroup,
    ) -> BoxFuture<'a, Result<NodegroupInfo>>;
    /// `DeleteNodegroup`.
    fn delete_nodegroup<'a>(&'a self, cluster: &'a str, name: &'a str)
        -> BoxFuture<'a, Result<()>>;
    /// `UpdateNodegroupConfig` with a full scaling config.
    fn update_nodegroup_scaling<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
        desired: i32,
        min: i32,
        max: i32,
    ) -> BoxFuture<'a, Result<()>>;
    /// `UpdateNodegroupVersion`.
    fn update_nodegroup_version<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The kinds of EC2 network resources this provider creates, found and deleted by tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetKind {
    /// A VPC.
    Vpc,
    /// A subnet.
    Subnet,
    /// An internet gateway.
    InternetGateway,
    /// An Elastic IP (for the NAT gateway).
    ElasticIp,
    /// A NAT gateway.
    NatGateway,
    /// A route table.
    RouteTable,
    /// A security group.
    SecurityGroup,
}

impl NetKind {
    /// Every kind, in creation order (deletion is the reverse, see `network::delete`).
    pub const ALL: [NetKind; 7] = [
        NetKind::Vpc,
        NetKind::Subnet,
        NetKind::InternetGateway,
        NetKind::ElasticIp,
        NetKind::NatGateway,
        NetKind::RouteTable,
        NetKind::SecurityGroup,
    ];

    /// How people call it in messages.
    pub fn noun(self) -> &'static str {
        match self {
            NetKind::Vpc => "VPC",
            NetKind::Subnet => "subnet",
            NetKind::InternetGateway => "internet gateway",
            NetKind::ElasticIp => "elastic IP",
            NetKind::NatGateway => "NAT gateway",
            NetKind::RouteTable => "route table",
            NetKind::SecurityGroup => "security group",
        }
    }
}

/// One tagged EC2 network resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetResource {
    /// Its id (`vpc-…`, `subnet-…`, `eipalloc-…`, ...).
    pub id: String,
    /// Its tags.
    pub tags: Tags,
    /// The VPC it lives in (or, for an internet gateway, is attached to).
    pub vpc_id: Option<String>,
    /// State where EC2 reports one (`available`, `pending`, `deleted`, ...).
    pub state: Option<String>,
    /// Route table: ids of its non-main subnet associations.
    pub associations: Vec<String>,
}

/// Where a default route points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// An internet gateway id.
    InternetGateway(String),
    /// A NAT gateway id.
    NatGateway(String),
}

/// A node's EC2 instance, for `get nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instance {
    /// Private DNS name, which is the Kubernetes node name on EKS.
    pub name: String,
    /// `running`, `pending`, ...
    pub state: String,
    /// Node group from the `eks:nodegroup-name` tag.
    pub nodegroup: Option<String>,
    /// Private IP address.
    pub address: Option<String>,
}

/// The EC2 calls this provider makes.
pub trait Ec2Api: Send + Sync {
    /// `DescribeAvailabilityZones` (available zones only), sorted by name.
    fn availability_zones(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Resources of `kind` carrying every tag in `tags`.
    fn find<'a>(&'a self, kind: NetKind, tags: &'a Tags)
        -> BoxFuture<'a, Result<Vec<NetResource>>>;
    /// `CreateVpc` with tags.
    fn create_vpc<'a>(&'a self, cidr: &'a str, tags: &'a Tags) -> BoxFuture<'a, Result<String>>;
    /// `CreateSubnet` in `zone`, with tags; `public` also maps public IPs on launch.
    fn create_subnet<'a>(
        &'a self,
        vpc_id: &'a str,
        cidr: &'a str,
        zone: &'a str,
        public: bool,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>>;
    /// `CreateInternetGateway` with tags, then `AttachInternetGateway` to `vpc_id`.
    fn create_internet_gateway<'a>(
        &'a self,
        vpc_id: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>>;
    /// `AllocateAddress` (VPC) with tags; returns the allocation id.
    fn allocate_address<'a>(&'a self, tags: &'a Tags) -> BoxFuture<'a, Result<String>>;
    /// `CreateNatGateway` in a public subnet with an allocation, with tags.
    fn create_nat_gateway<'a>(
        &'a self,
        subnet_id: &'a str,
        allocation_id: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>>;
    /// `CreateRouteTable` with tags, a default route to `target`, associated with `subnet_ids`.
    fn create_route_table<'a>(
        &'a self,
        vpc_id: &'a str,
        target: &'a RouteTarget,
        subnet_ids: &'a [String],
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>>;
    /// `CreateSecurityGroup` with tags, allowing all traffic from itself.
    fn create_security_group<'a>(
        &'a self,
        vpc_id: &'a str,
        name: &'a str,
        description: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>>;
    /// Deletes one resource; for an internet gateway, detaches it from `resource.vpc_id` first,
    /// for a route table, removes `resource.associations` first.
    fn delete<'a>(&'a self, kind: NetKind, resource: &'a NetResource) -> BoxFuture<'a, Result<()>>;
    /// Instances of an EKS cluster's node groups (tag `eks:cluster-name`).
    fn cluster_instances<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<Instance>>>;
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleInfo {
    /// Role name.
    pub name: String,
    /// Role ARN.
    pub arn: String,
    /// Its tags.
    pub tags: Tags,
}

/// The IAM calls this provider makes.
pub trait IamApi: Send + Sync {
    /// `GetRole`; `None` when there is no such role.
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RoleInfo>>>;
    /// `CreateRole` with a trust policy and tags.
    fn create_role<'a>(
        &'a self,
        name: &'a str,
        trust_policy: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<RoleInfo>>;
    /// `ListAttachedRolePolicies`: the policy ARNs.
    fn attached_policies<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Vec<String>>>;
    /// `AttachRolePolicy`.
    fn attach_policy<'a>(&'a self, role: &'a str, policy_arn: &'a str)
        -> BoxFuture<'a, Result<()>>;
    /// `DetachRolePolicy`.
    fn detach_policy<'a>(&'a self, role: &'a str, policy_arn: &'a str)
        -> BoxFuture<'a, Result<()>>;
    /// `DeleteRole`.
    fn delete_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// Who the caller is, from `GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
}

/// The STS calls this provider makes (the token's own STS call is presigned, not made).
pub trait StsApi: Send + Sync {
    /// `GetCallerIdentity`.
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>>;
}

/// The four clients, shared by every step of one run.
#[derive(Clone)]
pub struct Aws {
    /// The region the clients talk to.
    pub region: String,
    /// EKS.
    pub eks: Arc<dyn EksApi>,
    /// EC2.
    pub ec2: Arc<dyn Ec2Api>,
    /// IAM.
    pub iam: Arc<dyn IamApi>,
    /// STS.
    pub sts: Arc<dyn StsApi>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}
