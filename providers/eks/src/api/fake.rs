//! A recording, in-memory AWS for unit tests of the step flow: it keeps clusters, node groups,
//! network resources and roles, logs every call as `service:Operation target`, and can be told to
//! fail an operation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use clusterctl_steps::BoxFuture;

use super::{
    Aws, CallerIdentity, ClusterInfo, Ec2Api, EksApi, IamApi, Instance, NetKind, NetResource,
    NewCluster, NewNodegroup, NodegroupInfo, RoleInfo, RouteTarget, StsApi, Tags,
};
use crate::{Error, Result};

/// Everything the fake AWS holds.
#[derive(Debug, Default)]
pub struct State {
    pub clusters: BTreeMap<String, ClusterInfo>,
    pub nodegroups: BTreeMap<(String, String), NodegroupInfo>,
    pub net: Vec<(NetKind, NetResource)>,
    pub roles: BTreeMap<String, (RoleInfo, Vec<String>)>,
    pub calls: Vec<String>,
    /// Operations (`eks:CreateNodegroup`) that fail with AccessDenied.
    pub fail: Vec<String>,
    next_id: u32,
}

/// The fake, shared by the four trait objects.
#[derive(Debug, Clone, Default)]
pub struct FakeAws {
    state: Arc<Mutex<State>>,
}

impl FakeAws {
    pub fn new() -> Self {
        Self::default()
    }

    /// The four clients over this fake, in `us-west-2`.
    pub fn aws(&self) -> Aws {
        Aws {
            region: "us-west-2".to_owned(),
            eks: Arc::new(self.clone()),
            ec2: Arc::new(self.clone()),
            iam: Arc::new(self.clone()),
            sts: Arc::new(self.clone()),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls whose operation is a mutation (not Describe/List/Get).
    pub fn mutations(&self) -> Vec<String> {
        self.state()
            .calls
            .iter()
            .filter(|c| {
                let op = c.split(':').nth(1).unwrap_or_default();
                !(op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get"))
            })
            .cloned()
            .collect()
    }

    fn call(&self, op: &str, target: &str) -> Result<MutexGuard<'_, State>> {
        let mut state = self.state();
        state
            .calls
            .push(format!("{op} {target}").trim_end().to_owned());
        if state.fail.iter().any(|f| f == op) {
            return Err(Error::Api {
                operation: op.to_owned(),
                resource: target.to_owned(),
                code: "AccessDeniedException".to_owned(),
                message: "not authorized".to_owned(),
                hint: crate::error::hint_for(op, "AccessDeniedException", ""),
            });
        }
        Ok(state)
    }
}

fn id(state: &mut State, prefix: &str) -> String {
    state.next_id += 1;
    format!("{prefix}-{:04}", state.next_id)
}

fn matches(tags: &Tags, filter: &Tags) -> bool {
    filter.iter().all(|(k, v)| tags.get(k) == Some(v))
}

impl EksApi for FakeAws {
    fn list_clusters(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            Ok(self
                .call("eks:ListClusters", "")?
                .clusters
                .keys()
                .cloned()
                .collect())
        })
    }

    fn describe_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterInfo>>> {
        Box::pin(async move {
            Ok(self
                .call("eks:DescribeCluster", name)?
                .clusters
                .get(name)
                .cloned())
        })
    }

    fn create_cluster<'a>(&'a self, c: &'a NewCluster) -> BoxFuture<'a, Result<ClusterInfo>> {
        Box::pin(async move {
            let mut state = self.call("eks:CreateCluster", &c.name)?;
            let info = ClusterInfo {
                name: c.name.clone(),
                arn: format!("arn:aws:eks:us-west-2:123456789012:cluster/{}", c.name),
                status: "ACTIVE".to_owned(),
                version: c.version.clone(),
                endpoint: Some("https://FAKE.gr7.us-west-2.eks.amazonaws.com".to_owned()),
                certificate_authority: Some("TFMwdA==".to_owned()),
                subnet_ids: c.subnet_ids.clone(),
                tags: c.tags.clone(),
            };
            state.clusters.insert(c.name.clone(), info.clone());
            Ok(info)
        })
    }

    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call("eks:DeleteCluster", name)?.clusters.remove(name);
            Ok(())
        })
    }

    fn update_cluster_version<'a>(
        &'a self,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.call("eks:UpdateClusterVersion", name)?;
            if let Some(c) = state.clusters.get_mut(name) {
                c.version = version.to_owned();
            }
            Ok(())
        })
    }

    fn list_nodegroups<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let state = self.call("eks:ListNodegroups", cluster)?;
            Ok(state
                .nodegroups
                .keys()
                .filter(|(c, _)| c == cluster)
                .map(|(_, n)| n.clone())
                .collect())
        })
    }

    fn describe_nodegroup<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<NodegroupInfo>>> {
        Box::pin(async move {
            let state = self.call("eks:DescribeNodegroup", name)?;
            Ok(state
                .nodegroups
                .get(&(cluster.to_owned(), name.to_owned()))
                .cloned())
        })
    }

    fn create_nodegroup<'a>(
        &'a self,
        ng: &'a NewNodegroup,
    ) -> BoxFuture<'a, Result<NodegroupInfo>> {
        Box::pin(async move {
            let mut state = self.call("eks:CreateNodegroup", &ng.name)?;
            let info = NodegroupInfo {
                cluster: ng.cluster.clone(),
                name: ng.name.clone(),
                status: "ACTIVE".to_owned(),
                instance_types: ng.instance_types.clone(),
                desired: ng.desired,
                min: ng.min,
                max: ng.max,
                version: None,
                tags: ng.tags.clone(),
            };
            state
                .nodegroups
                .insert((ng.cluster.clone(), ng.name.clone()), info.clone());
            Ok(info)
        })
    }

    fn delete_nodegroup<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call("eks:DeleteNodegroup", name)?
                .nodegroups
                .remove(&(cluster.to_owned(), name.to_owned()));
            Ok(())
        })
    }

    fn update_nodegroup_scaling<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
        desired: i32,
        min: i32,
        max: i32,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.call("eks:UpdateNodegroupConfig", name)?;
            if let Some(ng) = state
                .nodegroups
                .get_mut(&(cluster.to_owned(), name.to_owned()))
            {
                (ng.desired, ng.min, ng.max) = (desired, min, max);
            }
            Ok(())
        })
    }

    fn update_nodegroup_version<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.call("eks:UpdateNodegroupVersion", name)?;
            if let Some(ng) = state
                .nodegroups
                .get_mut(&(cluster.to_owned(), name.to_owned()))
            {
                ng.version = Some(version.to_owned());
            }
            Ok(())
        })
    }
}

impl FakeAws {
    fn add(
        &self,
        op: &str,
        kind: NetKind,
        prefix: &str,
        vpc: Option<&str>,
        tags: &Tags,
    ) -> Result<String> {
        let mut state = self.call(
            op,
            tags.get("clusterctl.io/resource")
                .map(String::as_str)
                .unwrap_or(""),
        )?;
        let id = id(&mut state, prefix);
        let resource = NetResource {
            id: id.clone(),
            tags: tags.clone(),
            vpc_id: vpc.map(str::to_owned),
            state: Some("available".to_owned()),
            associations: Vec::new(),
        };
        state.net.push((kind, resource));
        Ok(id)
    }
}

impl Ec2Api for FakeAws {
    fn availability_zones(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            drop(self.call("ec2:DescribeAvailabilityZones", "")?);
            Ok(vec![
                "us-west-2a".to_owned(),
                "us-west-2b".to_owned(),
                "us-west-2c".to_owned(),
            ])
        })
    }

    fn find<'a>(
        &'a self,
        kind: NetKind,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<Vec<NetResource>>> {
        Box::pin(async move {
            let state = self.call(&format!("ec2:Describe{kind:?}s"), "")?;
            Ok(state
                .net
                .iter()
                .filter(|(k, r)| *k == kind && matches(&r.tags, tags))
                .map(|(_, r)| r.clone())
                .collect())
        })
    }

    fn create_vpc<'a>(&'a self, _cidr: &'a str, tags: &'a Tags) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { self.add("ec2:CreateVpc", NetKind::Vpc, "vpc", None, tags) })
    }

    fn create_subnet<'a>(
        &'a self,
        vpc_id: &'a str,
        _cidr: &'a str,
        _zone: &'a str,
        _public: bool,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:CreateSubnet",
                NetKind::Subnet,
                "subnet",
                Some(vpc_id),
                tags,
            )
        })
    }

    fn create_internet_gateway<'a>(
        &'a self,
        vpc_id: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:CreateInternetGateway",
                NetKind::InternetGateway,
                "igw",
                Some(vpc_id),
                tags,
            )
        })
    }

    fn allocate_address<'a>(&'a self, tags: &'a Tags) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:AllocateAddress",
                NetKind::ElasticIp,
                "eipalloc",
                None,
                tags,
            )
        })
    }

    fn create_nat_gateway<'a>(
        &'a self,
        _subnet: &'a str,
        _alloc: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:CreateNatGateway",
                NetKind::NatGateway,
                "nat",
                None,
                tags,
            )
        })
    }

    fn create_route_table<'a>(
        &'a self,
        vpc_id: &'a str,
        _target: &'a RouteTarget,
        _subnets: &'a [String],
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:CreateRouteTable",
                NetKind::RouteTable,
                "rtb",
                Some(vpc_id),
                tags,
            )
        })
    }

    fn create_security_group<'a>(
        &'a self,
        vpc_id: &'a str,
        _name: &'a str,
        _description: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.add(
                "ec2:CreateSecurityGroup",
                NetKind::SecurityGroup,
                "sg",
                Some(vpc_id),
                tags,
            )
        })
    }

    fn delete<'a>(&'a self, kind: NetKind, resource: &'a NetResource) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.call(&format!("ec2:Delete{kind:?}"), &resource.id)?;
            state.net.retain(|(_, r)| r.id != resource.id);
            Ok(())
        })
    }

    fn cluster_instances<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<Instance>>> {
        Box::pin(async move {
            drop(self.call("ec2:DescribeInstances", cluster)?);
            Ok(Vec::new())
        })
    }
}

impl IamApi for FakeAws {
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<RoleInfo>>> {
        Box::pin(async move {
            Ok(self
                .call("iam:GetRole", name)?
                .roles
                .get(name)
                .map(|(r, _)| r.clone()))
        })
    }

    fn create_role<'a>(
        &'a self,
        name: &'a str,
        _trust: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<RoleInfo>> {
        Box::pin(async move {
            let mut state = self.call("iam:CreateRole", name)?;
            let role = RoleInfo {
                name: name.to_owned(),
                arn: format!("arn:aws:iam::123456789012:role/{name}"),
                tags: tags.clone(),
            };
            state
                .roles
                .insert(name.to_owned(), (role.clone(), Vec::new()));
            Ok(role)
        })
    }

    fn attached_policies<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            Ok(self
                .call("iam:ListAttachedRolePolicies", role)?
                .roles
                .get(role)
                .map(|(_, p)| p.clone())
                .unwrap_or_default())
        })
    }

    fn attach_policy<'a>(&'a self, role: &'a str, policy: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if let Some((_, policies)) =
                self.call("iam:AttachRolePolicy", role)?.roles.get_mut(role)
            {
                policies.push(policy.to_owned());
            }
            Ok(())
        })
    }

    fn detach_policy<'a>(&'a self, role: &'a str, policy: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if let Some((_, policies)) =
                self.call("iam:DetachRolePolicy", role)?.roles.get_mut(role)
            {
                policies.retain(|p| p != policy);
            }
            Ok(())
        })
    }

    fn delete_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call("iam:DeleteRole", name)?.roles.remove(name);
            Ok(())
        })
    }
}

impl StsApi for FakeAws {
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>> {
        Box::pin(async move {
            drop(self.call("sts:GetCallerIdentity", "")?);
            Ok(CallerIdentity {
                account: "123456789012".to_owned(),
                arn: "arn:aws:iam::123456789012:user/test".to_owned(),
            })
        })
    }
}
