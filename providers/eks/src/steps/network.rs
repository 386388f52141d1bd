//! Step 1: the VPC — public and private subnets across availability zones, internet gateway,
//! NAT gateway, route tables and the control-plane security group — or an existing VPC.
//! Also the network part of `delete`: everything tagged as owned, in dependency order.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use super::{wait_until, Poll, Target};
use crate::api::{NetKind, NetResource, RouteTarget};
use crate::spec::{subnet_cidr, VpcChoice};
use crate::{Error, Result};

/// How many availability zones a new VPC spans (EKS needs at least two).
pub const ZONES: usize = 2;

/// The network the cluster and node groups are placed in, handed to later steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Network {
    /// VPC id.
    pub vpc_id: String,
    /// Public subnet ids.
    pub public: Vec<String>,
    /// Private subnet ids.
    pub private: Vec<String>,
    /// Security groups for the control plane.
    pub security_groups: Vec<String>,
}

impl Network {
    /// Subnets for the control plane: all of them.
    pub fn all_subnets(&self) -> Vec<String> {
        self.public.iter().chain(&self.private).cloned().collect()
    }

    /// Subnets for nodes: private ones when there are any, else public ones.
    pub fn node_subnets(&self) -> Vec<String> {
        if self.private.is_empty() {
            self.public.clone()
        } else {
            self.private.clone()
        }
    }
}

/// Creates (or adopts) the VPC.
#[derive(Debug)]
pub struct CreateNetwork {
    target: Target,
    vpc: VpcChoice,
}

impl CreateNetwork {
    /// The step for `vpc`.
    pub fn new(target: Target, vpc: VpcChoice) -> Self {
        Self { target, vpc }
    }

    async fn ensure<F>(
        &self,
        ctx: &Ctx,
        kind: NetKind,
        resource: &str,
        detail: &str,
        create: F,
    ) -> Result<String>
    where
        F: std::future::Future<Output = Result<String>>,
    {
        if let Some(found) = self.target.find_one(ctx, kind, resource).await? {
            return Ok(found.id);
        }
        let action = format!("create {} {resource}{detail}", kind.noun());
        let id = ctx.wet(&self.target.host(), action, create).await?;
        Ok(id.unwrap_or_else(|| format!("<{resource}>")))
    }

    async fn create(&self, ctx: &Ctx, cidr: &str) -> Result<Network> {
        let t = &self.target;
        let ec2 = &t.aws.ec2;
        let zones = if ctx.is_dry_run() {
            (0..ZONES)
                .map(|i| format!("{}{}", t.aws.region, (b'a' + i as u8) as char))
                .collect()
        } else {
            ec2.availability_zones().await?
        };
        if zones.len() < ZONES {
            return Err(Error::Invalid(format!(
                "region {} has {} available zones; EKS needs at least {ZONES}",
                t.aws.region,
                zones.len()
            )));
        }
        let vpc_tags = t.tags_for("vpc");
        let vpc = self
            .ensure(
                ctx,
                NetKind::Vpc,
                "vpc",
                &format!(" ({cidr})"),
                ec2.create_vpc(cidr, &vpc_tags),
            )
            .await?;
        let igw_tags = t.tags_for("igw");
        let igw = self
            .ensure(
                ctx,
                NetKind::InternetGateway,
                "igw",
                "",
                ec2.create_internet_gateway(&vpc, &igw_tags),
            )
            .await?;
        let mut network = Network {
            vpc_id: vpc.clone(),
            ..Network::default()
        };
        for (i, zone) in zones.iter().take(ZONES).enumerate() {
            for (public, slot, list) in [
                (true, i, &mut network.public),
                (false, 4 + i, &mut network.private),
            ] {
                let kind = if public { "public" } else { "private" };
                let name = format!("subnet-{kind}-{zone}");
                let cidr = subnet_cidr(cidr, slot as u32)?;
                let mut tags = t.tags_for(&name);
                // The tags the AWS load balancer controller uses to pick subnets.
                let role = if public {
                    "kubernetes.io/role/elb"
                } else {
                    "kubernetes.io/role/internal-elb"
                };
                tags.insert(role.to_owned(), "1".to_owned());
                let id = self
                    .ensure(
                        ctx,
                        NetKind::Subnet,
                        &name,
                        &format!(" ({cidr})"),
                        ec2.create_subnet(&vpc, &cidr, zone, public, &tags),
                    )
                    .await?;
                list.push(id);
            }
        }
        let eip_tags = t.tags_for("eip-nat");
        let eip = self
            .ensure(
                ctx,
                NetKind::ElasticIp,
                "eip-nat",
                "",
                ec2.allocate_address(&eip_tags),
            )
            .await?;
        let nat_tags = t.tags_for("nat");
        let nat = self
            .ensure(
                ctx,
                NetKind::NatGateway,
                "nat",
                "",
                ec2.create_nat_gateway(&network.public[0], &eip, &nat_tags),
            )
            .await?;
        if !ctx.is_dry_run() {
            wait_until(
                ctx,
                format!("NAT gateway {nat} to be available"),
                t.wait,
                || async {
                    let found = t.find_one(ctx, NetKind::NatGateway, "nat").await?;
                    Ok(match found.and_then(|n| n.state) {
                        Some(s) if s == "available" => Poll::Done,
                        Some(s) if s == "failed" => {
                            return Err(Error::Invalid(format!(
                                "NAT gateway {nat} failed; delete the cluster and retry"
                            )))
                        }
                        other => Poll::Pending(format!("state {}", other.unwrap_or_default())),
                    })
                },
            )
            .await
            .map_err(|e| Error::Invalid(clusterctl_steps::error_chain(&*e)))?;
        }
        let public_rt = t.tags_for("rt-public");
        self.ensure(
            ctx,
            NetKind::RouteTable,
            "rt-public",
            " (0.0.0.0/0 via the internet gateway)",
            ec2.create_route_table(
                &vpc,
                &RouteTarget::InternetGateway(igw.clone()),
                &network.public,
                &public_rt,
            ),
        )
        .await?;
        let private_rt = t.tags_for("rt-private");
        self.ensure(
            ctx,
            NetKind::RouteTable,
            "rt-private",
            " (0.0.0.0/0 via the NAT gateway)",
            ec2.create_route_table(
                &vpc,
                &RouteTarget::NatGateway(nat.clone()),
                &network.private,
                &private_rt,
            ),
        )
        .await?;
        let sg_tags = t.tags_for("sg-control-plane");
        let sg_name = format!("clusterctl-{}-control-plane", t.cluster);
        let sg = self
            .ensure(
                ctx,
                NetKind::SecurityGroup,
                "sg-control-plane",
                "",
                ec2.create_security_group(
                    &vpc,
                    &sg_name,
                    "clusterctl: EKS control plane and nodes",
                    &sg_tags,
                ),
            )
            .await?;
        network.security_groups.push(sg);
        Ok(network)
    }

    /// The network this tool made for the cluster, if every piece of it exists.
    async fn discover(&self) -> Result<Option<Network>> {
        let t = &self.target;
        let mut found = std::collections::BTreeMap::new();
        for kind in NetKind::ALL {
            found.insert(kind, t.find_owned(kind).await?);
        }
        let by = |kind: NetKind, prefix: &str| -> Vec<NetResource> {
            found[&kind]
                .iter()
                .filter(|r| {
                    r.tags
                        .get(crate::names::RESOURCE)
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .cloned()
                .collect()
        };
        let (vpc, public, private) = (
            by(NetKind::Vpc, "vpc"),
            by(NetKind::Subnet, "subnet-public-"),
            by(NetKind::Subnet, "subnet-private-"),
        );
        let nat_ready = by(NetKind::NatGateway, "nat")
            .iter()
            .any(|n| n.state.as_deref() == Some("available"));
        let complete = vpc.len() == 1
            && public.len() >= ZONES
            && private.len() >= ZONES
            && by(NetKind::InternetGateway, "igw").len() == 1
            && nat_ready
            && by(NetKind::RouteTable, "rt-").len() == 2
            && by(NetKind::SecurityGroup, "sg-control-plane").len() == 1;
        Ok(complete.then(|| Network {
            vpc_id: vpc[0].id.clone(),
            public: public.iter().map(|r| r.id.clone()).collect(),
            private: private.iter().map(|r| r.id.clone()).collect(),
            security_groups: by(NetKind::SecurityGroup, "sg-control-plane")
                .iter()
                .map(|r| r.id.clone())
                .collect(),
        }))
    }
}

impl Step for CreateNetwork {
    fn title(&self) -> String {
        match &self.vpc {
            VpcChoice::Create { cidr } => format!(
                "Creating VPC {cidr} with public and private subnets in {ZONES} availability zones, internet gateway, NAT gateway and routes"
            ),
            VpcChoice::Existing { id, .. } => format!(
                "Using existing VPC {} (not owned, never deleted by clusterctl)",
                id.as_deref().unwrap_or("of the given subnets")
            ),
        }
    }

    fn is_done<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            if ctx.is_dry_run() || matches!(self.vpc, VpcChoice::Existing { .. }) {
                return Ok(false);
            }
            match self.discover().await? {
                Some(network) => {
                    ctx.extensions().insert(network);
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let network = match &self.vpc {
                VpcChoice::Create { cidr } => self.create(ctx, cidr).await?,
                VpcChoice::Existing {
                    id,
                    public,
                    private,
                } => {
                    if public.len() + private.len() < 2 {
                        return Err(Error::Invalid(
                            "an existing VPC needs at least two subnets in eks.vpc.subnets (in two availability zones)".to_owned(),
                        )
                        .into());
                    }
                    Network {
                        vpc_id: id.clone().unwrap_or_default(),
                        public: public.clone(),
                        private: private.clone(),
                        security_groups: Vec::new(),
                    }
                }
            };
            ctx.extensions().insert(network);
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            delete_network(ctx, &self.target).await?;
            Ok(())
        })
    }
}

/// Deletes every EC2 network resource tagged as owned by the cluster, in dependency order;
/// returns how many it deleted (or would delete, under dry-run).
pub async fn delete_network(ctx: &Ctx, target: &Target) -> Result<usize> {
    let ec2 = &target.aws.ec2;
    let host = target.host();
    let mut deleted = 0;
    // NAT gateways first: they hold the elastic IP and an interface in a public subnet.
    let nats = target.find_owned(NetKind::NatGateway).await?;
    for nat in &nats {
        ctx.wet(
            &host,
            format!("delete NAT gateway {}", nat.id),
            ec2.delete(NetKind::NatGateway, nat),
        )
        .await?;
        deleted += 1;
    }
    if !nats.is_empty() && !ctx.is_dry_run() {
        wait_until(
            ctx,
            "NAT gateways to be deleted".to_owned(),
            target.wait,
            || async {
                let left: Vec<_> = target
                    .find_owned(NetKind::NatGateway)
                    .await?
                    .into_iter()
                    .filter(|n| n.state.as_deref() != Some("deleting"))
                    .collect();
                Ok(if left.is_empty() {
                    Poll::Done
                } else {
                    Poll::Pending(format!("{} left", left.len()))
                })
            },
        )
        .await
        .map_err(|e| Error::Invalid(clusterctl_steps::error_chain(&*e)))?;
    }
    for kind in [
        NetKind::ElasticIp,
        NetKind::InternetGateway,
        NetKind::RouteTable,
        NetKind::SecurityGroup,
        NetKind::Subnet,
        NetKind::Vpc,
    ] {
        for resource in target.find_owned(kind).await? {
            ctx.wet(
                &host,
                format!("delete {} {}", kind.noun(), resource.id),
                ec2.delete(kind, &resource),
            )
            .await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Deletes the cluster's network (the last step of `delete`).
#[derive(Debug)]
pub struct DeleteNetwork {
    target: Target,
}

impl DeleteNetwork {
    /// The step.
    pub fn new(target: Target) -> Self {
        Self { target }
    }
}

impl Step for DeleteNetwork {
    fn title(&self) -> String {
        format!(
            "Deleting the VPC, subnets, gateways, routes and security groups tagged as owned by {}",
            self.target.cluster
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let n = delete_network(ctx, &self.target).await?;
            let verb = if ctx.is_dry_run() {
                "would be deleted"
            } else {
                "deleted"
            };
            ctx.progress(format!("{n} network resources {verb}"));
            Ok(())
        })
    }
}
