//! [`EksApi`] over `aws-sdk-eks`.

use aws_sdk_eks::types::{
    Cluster, KubernetesNetworkConfigRequest, Nodegroup, NodegroupScalingConfig, Taint, TaintEffect,
    VpcConfigRequest,
};
use aws_sdk_eks::Client;
use clusterctl_steps::BoxFuture;

use super::{from_hash_map, to_hash_map};
use crate::api::{ClusterInfo, EksApi, NewCluster, NewNodegroup, NodegroupInfo};
use crate::error::from_sdk;
use crate::Result;

/// The EKS client.
#[derive(Debug, Clone)]
pub struct SdkEks {
    client: Client,
}

impl SdkEks {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// What clusterctl keeps of an SDK `Cluster`.
pub fn cluster_info(cluster: &Cluster) -> ClusterInfo {
    ClusterInfo {
        name: cluster.name().unwrap_or_default().to_owned(),
        arn: cluster.arn().unwrap_or_default().to_owned(),
        status: cluster
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        version: cluster.version().unwrap_or_default().to_owned(),
        endpoint: cluster.endpoint().map(str::to_owned),
        certificate_authority: cluster
            .certificate_authority()
            .and_then(|c| c.data())
            .map(str::to_owned),
        subnet_ids: cluster
            .resources_vpc_config()
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default(),
        tags: from_hash_map(cluster.tags()),
    }
}

/// What clusterctl keeps of an SDK `Nodegroup`.
pub fn nodegroup_info(nodegroup: &Nodegroup) -> NodegroupInfo {
    let scaling = nodegroup.scaling_config();
    NodegroupInfo {
        cluster: nodegroup.cluster_name().unwrap_or_default().to_owned(),
        name: nodegroup.nodegroup_name().unwrap_or_default().to_owned(),
        status: nodegroup
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_types: nodegroup.instance_types().to_vec(),
        desired: scaling.and_then(|s| s.desired_size()).unwrap_or(0),
        min: scaling.and_then(|s| s.min_size()).unwrap_or(0),
        max: scaling.and_then(|s| s.max_size()).unwrap_or(0),
        version: nodegroup.version().map(str::to_owned),
        tags: from_hash_map(nodegroup.tags()),
    }
}

fn scaling(desired: i32, min: i32, max: i32) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .desired_size(desired)
        .min_size(min)
        .max_size(max)
        .build()
}

impl EksApi for SdkEks {
    fn list_clusters(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_clusters()
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| from_sdk("eks:ListClusters", "", e))?;
                names.extend(page.clusters().iter().cloned());
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    return Ok(names);
                }
            }
        })
    }

    fn describe_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterInfo>>> {
        Box::pin(async move {
            match self.client.describe_cluster().name(name).send().await {
                Ok(out) => Ok(out.cluster().map(cluster_info)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(from_sdk("eks:DescribeCluster", name, e)),
            }
        })
    }

    fn create_cluster<'a>(&'a self, cluster: &'a NewCluster) -> BoxFuture<'a, Result<ClusterInfo>> {
        Box::pin(async move {
            let vpc = VpcConfigRequest::builder()
                .set_subnet_ids(Some(cluster.subnet_ids.clone()))
                .set_security_group_ids(Some(cluster.security_group_ids.clone()))
                .endpoint_public_access(true)
                .endpoint_private_access(true)
                .build();
            let out = self
                .client
                .create_cluster()
                .name(&cluster.name)
                .version(&cluster.version)
                .role_arn(&cluster.role_arn)
                .resources_vpc_config(vpc)
                .set_kubernetes_network_config(cluster.service_cidr.as_ref().map(|cidr| {
                    KubernetesNetworkConfigRequest::builder()
                        .service_ipv4_cidr(cidr)
                        .build()
                }))
                .set_tags(Some(to_hash_map(&cluster.tags)))
                .send()
                .await
                .map_err(|e| from_sdk("eks:CreateCluster", &cluster.name, e))?;
            Ok(out
                .cluster()
                .map(cluster_info)
                .unwrap_or_else(|| ClusterInfo {
                    name: cluster.name.clone(),
                    ..ClusterInfo::default()
                }))
        })
    }

    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .delete_cluster()
                .name(name)
                .send()
                .await
                .map_err(|e| from_sdk("eks:DeleteCluster", name, e))?;
            Ok(())
        })
    }

    fn update_cluster_version<'a>(
        &'a self,
        name: &'a str,
        version: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .update_cluster_version()
                .name(name)
                .version(version)
                .send()
                .await
                .map_err(|e| from_sdk("eks:UpdateClusterVersion", name, e))?;
            Ok(())
        })
    }

    fn list_nodegroups<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_nodegroups()
                    .cluster_name(cluster)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception())
                        {
                            crate::Error::NotFound {
                                what: "cluster",
                                name: cluster.to_owned(),
                                hint: Some(
                                    "list clusters with `clusterctl get clusters --provider eks`"
                                        .to_owned(),
                                ),
                            }
                        } else {
                            from_sdk("eks:ListNodegroups", cluster, e)
                        }
                    })?;
                names.extend(page.nodegroups().iter().cloned());
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    return Ok(names);
                }
            }
        })
    }

    fn describe_nodegroup<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<NodegroupInfo>>> {
        Box::pin(async move {
            match self
                .client
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
            {
                Ok(out) => Ok(out.nodegroup().map(nodegroup_info)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(from_sdk(
                    "eks:DescribeNodegroup",
                    &format!("{cluster}/{name}"),
                    e,
                )),
            }
        })
    }

    fn create_nodegroup<'a>(
        &'a self,
        ng: &'a NewNodegroup,
    ) -> BoxFuture<'a, Result<NodegroupInfo>> {
        Box::pin(async move {
            let taints = ng
                .taints
                .iter()
                .map(|t| {
                    Taint::builder()
                        .key(&t.key)
                        .set_value(t.value.clone())
                        .effect(TaintEffect::from(t.effect.as_str()))
                        .build()
                })
                .collect();
            let labels = ng
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let out = self
                .client
                .create_nodegroup()
                .cluster_name(&ng.cluster)
                .nodegroup_name(&ng.name)
                .node_role(&ng.node_role_arn)
                .set_subnets(Some(ng.subnet_ids.clone()))
                .set_instance_types(Some(ng.instance_types.clone()))
                .scaling_config(scaling(ng.desired, ng.min, ng.max))
                .set_disk_size(ng.disk_size)
                .set_labels(Some(labels))
                .set_taints(Some(taints))
                .set_tags(Some(to_hash_map(&ng.tags)))
                .send()
                .await
                .map_err(|e| {
                    from_sdk(
                        "eks:CreateNodegroup",
                        &format!("{}/{}", ng.cluster, ng.name),
                        e,
                    )
                })?;
            Ok(out.nodegroup().map(nodegroup_info).unwrap_or_default())
        })
    }

    fn delete_nodegroup<'a>(
        &'a self,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client
                .delete_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
                .map_err(|e| from_sdk("eks:DeleteNodegroup", &format!("{cluster}/{name}"), e))?;
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
            self.client
                .update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .scaling_config(scaling(desired, min, max))
                .send()
                .await
                .map_err(|e| {
                    from_sdk("eks:UpdateNodegroupConfig", &format!("{cluster}/{name}"), e)
                })?;
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
            self.client
                .update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .version(version)
                .send()
                .await
                .map_err(|e| {
                    from_sdk(
                        "eks:UpdateNodegroupVersion",
                        &format!("{cluster}/{name}"),
                        e,
                    )
                })?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{Certificate, ClusterStatus, NodegroupStatus};

    #[test]
    fn cluster_info_keeps_what_kubeconfig_and_get_need() {
        let cluster = Cluster::builder()
            .name("dev")
            .arn("arn:aws:eks:us-west-2:123456789012:cluster/dev")
            .status(ClusterStatus::Active)
            .version("1.32")
            .endpoint("https://ABC.gr7.us-west-2.eks.amazonaws.com")
            .certificate_authority(Certificate::builder().data("TFMwdA==").build())
            .tags("clusterctl.io/cluster", "dev")
            .build();
        let info = cluster_info(&cluster);
        assert_eq!(info.status, "ACTIVE");
        assert_eq!(info.certificate_authority.as_deref(), Some("TFMwdA=="));
        assert_eq!(info.tags["clusterctl.io/cluster"], "dev");
    }

    #[test]
    fn nodegroup_info_reads_the_scaling_config() {
        let ng = Nodegroup::builder()
            .cluster_name("dev")
            .nodegroup_name("ng-1")
            .status(NodegroupStatus::Active)
            .instance_types("t3.medium")
            .scaling_config(scaling(2, 1, 3))
            .build();
        let info = nodegroup_info(&ng);
        assert_eq!((info.desired, info.min, info.max), (2, 1, 3));
        assert_eq!(info.instance_types, vec!["t3.medium".to_owned()]);
    }

    #[test]
    fn taint_effects_map_to_the_sdk_enum() {
        assert_eq!(TaintEffect::from("NO_SCHEDULE"), TaintEffect::NoSchedule);
        assert_eq!(TaintEffect::from("NO_EXECUTE"), TaintEffect::NoExecute);
    }
}
