//! [`Ec2Api`] over `aws-sdk-ec2`. Every resource is tagged in the call that creates it
//! (`TagSpecifications`), so nothing this tool makes is ever untagged.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, IpPermission, ResourceType, Tag, TagSpecification,
    UserIdGroupPair,
};
use aws_sdk_ec2::Client;
use clusterctl_steps::BoxFuture;

use crate::api::{Ec2Api, Instance, NetKind, NetResource, RouteTarget, Tags};
use crate::error::from_sdk;
use crate::Result;

/// The EC2 client.
#[derive(Debug, Clone)]
pub struct SdkEc2 {
    client: Client,
}

impl SdkEc2 {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn spec(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// `tag:<key>=<value>` filters, one per tag.
pub fn tag_filters(tags: &Tags) -> Vec<Filter> {
    tags.iter()
        .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
        .collect()
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn missing(what: &str) -> crate::Error {
    crate::Error::Invalid(format!("ec2 answered without the new {what}'s id"))
}

impl Ec2Api for SdkEc2 {
    fn availability_zones(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let out = self
                .client
                .describe_availability_zones()
                .filters(Filter::builder().name("state").values("available").build())
                .send()
                .await
                .map_err(|e| from_sdk("ec2:DescribeAvailabilityZones", "", e))?;
            let mut zones: Vec<String> = out
                .availability_zones()
                .iter()
                .filter_map(|z| z.zone_name().map(str::to_owned))
                .collect();
            zones.sort();
            Ok(zones)
        })
    }

    fn find<'a>(
        &'a self,
        kind: NetKind,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<Vec<NetResource>>> {
        Box::pin(async move {
            let filters = tag_filters(tags);
            let what = format!("{} tagged {:?}", kind.noun(), tags);
            let c = &self.client;
            let found = match kind {
                NetKind::Vpc => c
                    .describe_vpcs()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeVpcs", &what, e))?
                    .vpcs()
                    .iter()
                    .map(|v| NetResource {
                        id: v.vpc_id().unwrap_or_default().to_owned(),
                        tags: tags_of(v.tags()),
                        vpc_id: v.vpc_id().map(str::to_owned),
                        state: v.state().map(|s| s.as_str().to_owned()),
                        associations: Vec::new(),
                    })
                    .collect(),
                NetKind::Subnet => c
                    .describe_subnets()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeSubnets", &what, e))?
                    .subnets()
                    .iter()
                    .map(|s| NetResource {
                        id: s.subnet_id().unwrap_or_default().to_owned(),
                        tags: tags_of(s.tags()),
                        vpc_id: s.vpc_id().map(str::to_owned),
                        state: s.state().map(|s| s.as_str().to_owned()),
                        associations: Vec::new(),
                    })
                    .collect(),
                NetKind::InternetGateway => c
                    .describe_internet_gateways()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeInternetGateways", &what, e))?
                    .internet_gateways()
                    .iter()
                    .map(|g| NetResource {
                        id: g.internet_gateway_id().unwrap_or_default().to_owned(),
                        tags: tags_of(g.tags()),
                        vpc_id: g
                            .attachments()
                            .first()
                            .and_then(|a| a.vpc_id())
                            .map(str::to_owned),
                        state: None,
                        associations: Vec::new(),
                    })
                    .collect(),
                NetKind::ElasticIp => c
                    .describe_addresses()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeAddresses", &what, e))?
                    .addresses()
                    .iter()
                    .map(|a| NetResource {
                        id: a.allocation_id().unwrap_or_default().to_owned(),
                        tags: tags_of(a.tags()),
                        vpc_id: None,
                        state: None,
                        associations: a.association_id().map(str::to_owned).into_iter().collect(),
                    })
                    .collect(),
                NetKind::NatGateway => c
                    .describe_nat_gateways()
                    .set_filter(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeNatGateways", &what, e))?
                    .nat_gateways()
                    .iter()
                    // Deleted NAT gateways stay visible for an hour; they are gone for our purposes.
                    .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
                    .map(|n| NetResource {
                        id: n.nat_gateway_id().unwrap_or_default().to_owned(),
                        tags: tags_of(n.tags()),
                        vpc_id: n.vpc_id().map(str::to_owned),
                        state: n.state().map(|s| s.as_str().to_owned()),
                        associations: Vec::new(),
                    })
                    .collect(),
                NetKind::RouteTable => c
                    .describe_route_tables()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeRouteTables", &what, e))?
                    .route_tables()
                    .iter()
                    .map(|r| NetResource {
                        id: r.route_table_id().unwrap_or_default().to_owned(),
                        tags: tags_of(r.tags()),
                        vpc_id: r.vpc_id().map(str::to_owned),
                        state: None,
                        associations: r
                            .associations()
                            .iter()
                            .filter(|a| a.main() != Some(true))
                            .filter_map(|a| a.route_table_association_id().map(str::to_owned))
                            .collect(),
                    })
                    .collect(),
                NetKind::SecurityGroup => c
                    .describe_security_groups()
                    .set_filters(Some(filters))
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:DescribeSecurityGroups", &what, e))?
                    .security_groups()
                    .iter()
                    .map(|g| NetResource {
                        id: g.group_id().unwrap_or_default().to_owned(),
                        tags: tags_of(g.tags()),
                        vpc_id: g.vpc_id().map(str::to_owned),
                        state: None,
                        associations: Vec::new(),
                    })
                    .collect(),
            };
            Ok(found)
        })
    }

    fn create_vpc<'a>(&'a self, cidr: &'a str, tags: &'a Tags) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_vpc()
                .cidr_block(cidr)
                .tag_specifications(spec(ResourceType::Vpc, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateVpc", cidr, e))?;
            let id = out
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| missing("VPC"))?;
            Ok(id.to_owned())
        })
    }

    fn create_subnet<'a>(
        &'a self,
        vpc_id: &'a str,
        cidr: &'a str,
        zone: &'a str,
        public: bool,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(cidr)
                .availability_zone(zone)
                .tag_specifications(spec(ResourceType::Subnet, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateSubnet", &format!("{cidr} in {zone}"), e))?;
            let id = out
                .subnet()
                .and_then(|s| s.subnet_id())
                .ok_or_else(|| missing("subnet"))?
                .to_owned();
            if public {
                self.client
                    .modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
                    .send()
                    .await
                    .map_err(|e| from_sdk("ec2:ModifySubnetAttribute", &id, e))?;
            }
            Ok(id)
        })
    }

    fn create_internet_gateway<'a>(
        &'a self,
        vpc_id: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_internet_gateway()
                .tag_specifications(spec(ResourceType::InternetGateway, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateInternetGateway", vpc_id, e))?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| missing("internet gateway"))?
                .to_owned();
            self.client
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc_id)
                .send()
                .await
                .map_err(|e| from_sdk("ec2:AttachInternetGateway", &id, e))?;
            Ok(id)
        })
    }

    fn allocate_address<'a>(&'a self, tags: &'a Tags) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(spec(ResourceType::ElasticIp, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:AllocateAddress", "", e))?;
            Ok(out
                .allocation_id()
                .ok_or_else(|| missing("elastic IP"))?
                .to_owned())
        })
    }

    fn create_nat_gateway<'a>(
        &'a self,
        subnet_id: &'a str,
        allocation_id: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_nat_gateway()
                .subnet_id(subnet_id)
                .allocation_id(allocation_id)
                .tag_specifications(spec(ResourceType::Natgateway, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateNatGateway", subnet_id, e))?;
            let id = out
                .nat_gateway()
                .and_then(|n| n.nat_gateway_id())
                .ok_or_else(|| missing("NAT gateway"))?;
            Ok(id.to_owned())
        })
    }

    fn create_route_table<'a>(
        &'a self,
        vpc_id: &'a str,
        target: &'a RouteTarget,
        subnet_ids: &'a [String],
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(spec(ResourceType::RouteTable, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateRouteTable", vpc_id, e))?;
            let id = out
                .route_table()
                .and_then(|r| r.route_table_id())
                .ok_or_else(|| missing("route table"))?
                .to_owned();
            let route = self
                .client
                .create_route()
                .route_table_id(&id)
                .destination_cidr_block("0.0.0.0/0");
            let route = match target {
                RouteTarget::InternetGateway(gw) => route.gateway_id(gw),
                RouteTarget::NatGateway(nat) => route.nat_gateway_id(nat),
            };
            route
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateRoute", &id, e))?;
            for subnet in subnet_ids {
                self.client
                    .associate_route_table()
                    .route_table_id(&id)
                    .subnet_id(subnet)
                    .send()
                    .await
                    .map_err(|e| {
                        from_sdk("ec2:AssociateRouteTable", &format!("{id} with {subnet}"), e)
                    })?;
            }
            Ok(id)
        })
    }

    fn create_security_group<'a>(
        &'a self,
        vpc_id: &'a str,
        name: &'a str,
        description: &'a str,
        tags: &'a Tags,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_security_group()
                .vpc_id(vpc_id)
                .group_name(name)
                .description(description)
                .tag_specifications(spec(ResourceType::SecurityGroup, tags))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:CreateSecurityGroup", name, e))?;
            let id = out
                .group_id()
                .ok_or_else(|| missing("security group"))?
                .to_owned();
            let from_itself = IpPermission::builder()
                .ip_protocol("-1")
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&id).build())
                .build();
            self.client
                .authorize_security_group_ingress()
                .group_id(&id)
                .ip_permissions(from_itself)
                .send()
                .await
                .map_err(|e| from_sdk("ec2:AuthorizeSecurityGroupIngress", &id, e))?;
            Ok(id)
        })
    }

    fn delete<'a>(&'a self, kind: NetKind, r: &'a NetResource) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let c = &self.client;
            let id = r.id.as_str();
            match kind {
                NetKind::Vpc => c
                    .delete_vpc()
                    .vpc_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("ec2:DeleteVpc", id, e)),
                NetKind::Subnet => c
                    .delete_subnet()
                    .subnet_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("ec2:DeleteSubnet", id, e)),
                NetKind::InternetGateway => {
                    if let Some(vpc) = &r.vpc_id {
                        c.detach_internet_gateway()
                            .internet_gateway_id(id)
                            .vpc_id(vpc)
                            .send()
                            .await
                            .map_err(|e| from_sdk("ec2:DetachInternetGateway", id, e))?;
                    }
                    c.delete_internet_gateway()
                        .internet_gateway_id(id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| from_sdk("ec2:DeleteInternetGateway", id, e))
                }
                NetKind::ElasticIp => c
                    .release_address()
                    .allocation_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("ec2:ReleaseAddress", id, e)),
                NetKind::NatGateway => c
                    .delete_nat_gateway()
                    .nat_gateway_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("ec2:DeleteNatGateway", id, e)),
                NetKind::RouteTable => {
                    for association in &r.associations {
                        c.disassociate_route_table()
                            .association_id(association)
                            .send()
                            .await
                            .map_err(|e| from_sdk("ec2:DisassociateRouteTable", association, e))?;
                    }
                    c.delete_route_table()
                        .route_table_id(id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| from_sdk("ec2:DeleteRouteTable", id, e))
                }
                NetKind::SecurityGroup => c
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("ec2:DeleteSecurityGroup", id, e)),
            }
        })
    }

    fn cluster_instances<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<Instance>>> {
        Box::pin(async move {
            let filter = Tags::from([("eks:cluster-name".to_owned(), cluster.to_owned())]);
            let out = self
                .client
                .describe_instances()
                .set_filters(Some(tag_filters(&filter)))
                .send()
                .await
                .map_err(|e| from_sdk("ec2:DescribeInstances", cluster, e))?;
            Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .map(|i| {
                    let tags = tags_of(i.tags());
                    Instance {
                        name: i
                            .private_dns_name()
                            .filter(|n| !n.is_empty())
                            .or(i.instance_id())
                            .unwrap_or_default()
                            .to_owned(),
                        state: i
                            .state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_owned())
                            .unwrap_or_default(),
                        nodegroup: tags.get("eks:nodegroup-name").cloned(),
                        address: i.private_ip_address().map(str::to_owned),
                    }
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_match_every_tag_exactly() {
        let tags = Tags::from([
            ("clusterctl.io/cluster".to_owned(), "dev".to_owned()),
            ("clusterctl.io/owned".to_owned(), "true".to_owned()),
        ]);
        let filters = tag_filters(&tags);
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].name(), Some("tag:clusterctl.io/cluster"));
        assert_eq!(filters[0].values(), ["dev".to_owned()]);
    }

    #[test]
    fn tag_specifications_carry_every_tag() {
        let tags = Tags::from([("a".to_owned(), "1".to_owned())]);
        let spec = spec(ResourceType::Natgateway, &tags);
        assert_eq!(spec.resource_type(), Some(&ResourceType::Natgateway));
        assert_eq!(tags_of(spec.tags()), tags);
    }
}
