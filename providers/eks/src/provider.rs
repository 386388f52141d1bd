//! [`EksProvider`]: the provider-neutral operations the CLI calls, for EKS.

use std::path::PathBuf;
use std::time::Duration;

use clusterctl_config::{ClusterConfig, NodeGroup, Provider as ProviderKind};
use clusterctl_provider_api::{
    check_scaling, ClusterRef, ClusterSummary, NodeGroupSummary, NodeSummary, Provider,
    ProviderError, Scaling,
};
use clusterctl_steps::Step;

use crate::api::Aws;
use crate::names;
use crate::spec::{nodegroup_spec, ClusterSpec, DEFAULT_WAIT};
use crate::steps::cluster::{CreateCluster, DeleteCluster};
use crate::steps::iam::{CreateRoles, DeleteRoles};
use crate::steps::kubeconfig::{fetch_entry, RemoveKubeconfig, TokenCommand, WriteKubeconfig};
use crate::steps::network::{CreateNetwork, DeleteNetwork};
use crate::steps::nodegroups::{CreateNodegroups, DeleteNodegroups};
use crate::steps::preflight::CheckCredentials;
use crate::steps::upgrade::{UpgradeControlPlane, UpgradeNodegroups};
use crate::steps::Target;
use crate::{Error, Result};

/// How the CLI wants the provider to behave.
#[derive(Debug, Clone, Default)]
pub struct EksOptions {
    /// `--kubeconfig`: the file to merge contexts into (else `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--wait`: the bound on each wait (default 30 minutes).
    pub wait: Option<Duration>,
    /// How the kubeconfig user calls `clusterctl token`.
    pub token: TokenCommand,
}

/// The EKS provider: clusters, node groups and kubeconfig contexts through the AWS APIs.
#[derive(Debug, Clone)]
pub struct EksProvider {
    aws: Aws,
    options: EksOptions,
}

impl EksProvider {
    /// The provider talking to AWS (or `AWS_ENDPOINT_URL`) in `region`, else the region of the
    /// environment or profile.
    pub async fn connect(region: Option<&str>, options: EksOptions) -> Result<Self> {
        let config = crate::api::sdk::load_config(region).await;
        if config.region().is_none() {
            return Err(Error::Invalid(
                "no AWS region: pass --region, set metadata.region in the config, or set AWS_REGION".to_owned(),
            ));
        }
        Ok(Self::with_clients(
            crate::api::sdk::clients(&config),
            options,
        ))
    }

    /// The provider over given clients (fakes in tests).
    pub fn with_clients(aws: Aws, options: EksOptions) -> Self {
        Self { aws, options }
    }

    /// The region it works in.
    pub fn region(&self) -> &str {
        &self.aws.region
    }

    fn target(&self, cluster: &str) -> Target {
        Target::new(
            self.aws.clone(),
            cluster,
            self.options.wait.unwrap_or(DEFAULT_WAIT),
        )
    }
}

impl Provider for EksProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Eks
    }

    fn create_steps(
        &self,
        config: &ClusterConfig,
    ) -> clusterctl_provider_api::Result<Vec<Box<dyn Step>>> {
        let spec = ClusterSpec::from_config(config, self.options.wait)?;
        let mut target = self.target(&spec.name);
        target.tags = spec.tags.clone();
        let mut steps: Vec<Box<dyn Step>> = vec![
            Box::new(CheckCredentials::new(target.clone())),
            Box::new(CreateNetwork::new(target.clone(), spec.vpc.clone())),
            Box::new(CreateRoles::new(
                target.clone(),
                spec.service_role_arn.clone(),
                spec.node_role_arn.clone(),
            )),
            Box::new(CreateCluster::new(
                target.clone(),
                spec.version.clone(),
                spec.service_cidr.clone(),
            )),
        ];
        if !spec.nodegroups.is_empty() {
            steps.push(Box::new(CreateNodegroups::new(
                target.clone(),
                spec.nodegroups.clone(),
            )));
        }
        steps.push(Box::new(WriteKubeconfig::new(
            target,
            self.options.kubeconfig.clone(),
            self.options.token.clone(),
        )));
        Ok(steps)
    }

    fn delete_steps(
        &self,
        cluster: &ClusterRef,
    ) -> clusterctl_provider_api::Result<Vec<Box<dyn Step>>> {
        let target = self.target(&cluster.name);
        Ok(vec![
            Box::new(DeleteNodegroups::all(target.clone())),
            Box::new(DeleteCluster::new(target.clone())),
            Box::new(DeleteRoles::new(target.clone())),
            Box::new(DeleteNetwork::new(target)),
            Box::new(RemoveKubeconfig::new(
                &cluster.name,
                self.options.kubeconfig.clone(),
            )),
        ])
    }

    async fn list_clusters(
        &self,
        _region: Option<&str>,
    ) -> clusterctl_provider_api::Result<Vec<ClusterSummary>> {
        let mut out = Vec::new();
        for name in self
            .aws
            .eks
            .list_clusters()
            .await
            .map_err(ProviderError::from)?
        {
            let Some(c) = self
                .aws
                .eks
                .describe_cluster(&name)
                .await
                .map_err(ProviderError::from)?
            else {
                continue;
            };
            if !names::is_owned(&c.tags, &name) {
                continue;
            }
            out.push(ClusterSummary {
                name: c.name,
                provider: "eks".to_owned(),
                region: Some(self.aws.region.clone()),
                version: c.version,
                status: c.status,
                endpoint: c.endpoint,
            });
        }
        Ok(out)
    }

    async fn list_nodegroups(
        &self,
        cluster: &ClusterRef,
    ) -> clusterctl_provider_api::Result<Vec<NodeGroupSummary>> {
        let mut out = Vec::new();
        let eks = &self.aws.eks;
        for name in eks
            .list_nodegroups(&cluster.name)
            .await
            .map_err(ProviderError::from)?
        {
            let Some(ng) = eks
                .describe_nodegroup(&cluster.name, &name)
                .await
                .map_err(ProviderError::from)?
            else {
                continue;
            };
            out.push(NodeGroupSummary {
                cluster: cluster.name.clone(),
                name: ng.name,
                instance_type: ng.instance_types.first().cloned(),
                desired: non_negative(ng.desired),
                min: non_negative(ng.min),
                max: non_negative(ng.max),
                status: ng.status,
            });
        }
        Ok(out)
    }

    async fn list_nodes(
        &self,
        cluster: &ClusterRef,
    ) -> clusterctl_provider_api::Result<Vec<NodeSummary>> {
        let instances = self
            .aws
            .ec2
            .cluster_instances(&cluster.name)
            .await
            .map_err(ProviderError::from)?;
        Ok(instances
            .into_iter()
            .map(|i| NodeSummary {
                name: i.name,
                role: i.nodegroup.unwrap_or_default(),
                status: i.state,
                address: i.address,
            })
            .collect())
    }

    async fn scale_nodegroup(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> clusterctl_provider_api::Result<()> {
        let eks = &self.aws.eks;
        let current = eks
            .describe_nodegroup(&cluster.name, nodegroup)
            .await
            .map_err(ProviderError::from)?
            .ok_or_else(|| ProviderError::NotFound {
                what: "node group",
                name: nodegroup.to_owned(),
                hint: Some(format!(
                    "list them with `clusterctl get nodegroups --provider eks --name {} --region {}`",
                    cluster.name, self.aws.region
                )),
            })?;
        check_scaling(
            scaling,
            non_negative(current.min),
            non_negative(current.max),
        )?;
        let min = scaling.min.unwrap_or(non_negative(current.min));
        let max = scaling.max.unwrap_or(non_negative(current.max));
        eks.update_nodegroup_scaling(
            &cluster.name,
            nodegroup,
            to_i32(scaling.desired)?,
            to_i32(min)?,
            to_i32(max)?,
        )
        .await
        .map_err(ProviderError::from)
    }

    fn create_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &NodeGroup,
    ) -> clusterctl_provider_api::Result<Vec<Box<dyn Step>>> {
        let mut group = nodegroup.clone();
        group
            .instance_type
            .get_or_insert_with(|| "t3.medium".to_owned());
        let spec = nodegroup_spec(&group, 0)?;
        if !(spec.min <= spec.desired && spec.desired <= spec.max) {
            return Err(ProviderError::InvalidRequest {
                message: format!(
                    "node group {}: need min ({}) <= desired ({}) <= max ({})",
                    spec.name, spec.min, spec.desired, spec.max
                ),
            });
        }
        Ok(vec![Box::new(CreateNodegroups::new(
            self.target(&cluster.name),
            vec![spec],
        ))])
    }

    fn delete_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
    ) -> clusterctl_provider_api::Result<Vec<Box<dyn Step>>> {
        Ok(vec![Box::new(DeleteNodegroups::named(
            self.target(&cluster.name),
            vec![nodegroup.to_owned()],
        ))])
    }

    fn upgrade_steps(
        &self,
        cluster: &ClusterRef,
        version: &str,
    ) -> clusterctl_provider_api::Result<Vec<Box<dyn Step>>> {
        let target = self.target(&cluster.name);
        Ok(vec![
            Box::new(UpgradeControlPlane::new(target.clone(), version)),
            Box::new(UpgradeNodegroups::new(target, version)),
        ])
    }

    async fn kubeconfig_entry(
        &self,
        cluster: &ClusterRef,
    ) -> clusterctl_provider_api::Result<clusterctl_kubeconfig::Entry> {
        Ok(fetch_entry(&self.target(&cluster.name), &self.options.token).await?)
    }
}

fn non_negative(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn to_i32(n: u32) -> Result<i32, ProviderError> {
    i32::try_from(n).map_err(|_| ProviderError::InvalidRequest {
        message: format!("node count {n} is too large"),
    })
}
