//! Rules on the eks, gke and aks blocks.

use super::net::Cidr;
use super::{names, Report};
use crate::cluster_config::ClusterConfig;
use crate::provider::Provider;
use crate::yaml::path;

pub(super) fn check(config: &ClusterConfig, report: &mut Report<'_>) {
    match config.provider {
        Provider::Eks => check_eks(config, report),
        Provider::Gke => check_gke(config, report),
        Provider::Aks => check_aks(config, report),
        Provider::Local | Provider::Ssh => {}
    }
}

fn check_eks(config: &ClusterConfig, report: &mut Report<'_>) {
    let Some(eks) = &config.eks else { return };
    if let Some(vpc) = &eks.vpc {
        if let Some(id) = &vpc.id {
            report.check("eks.vpc.id", names::aws_id("vpc", id));
        }
        if let Some(cidr) = &vpc.cidr {
            match Cidr::parse(cidr) {
                Ok(parsed) if !parsed.is_ipv4() || !(16..=28).contains(&parsed.prefix()) => {
                    report.error("eks.vpc.cidr", "must be an ipv4 range between /16 and /28");
                }
                Ok(_) => {}
                Err(reason) => report.error("eks.vpc.cidr", reason),
            }
        }
        let subnets = vpc.subnets.as_ref();
        let count = subnets.map_or(0, |s| s.public.len() + s.private.len());
        if let Some(subnets) = subnets {
            for (kind, ids) in [("public", &subnets.public), ("private", &subnets.private)] {
                for (index, id) in ids.iter().enumerate() {
                    report.check(
                        path::item(&format!("eks.vpc.subnets.{kind}"), index),
                        names::aws_id("subnet", id),
                    );
                }
            }
        }
        match (&vpc.id, count) {
            (None, 1..) => report.error(
                "eks.vpc.subnets",
                "subnets of an existing vpc need eks.vpc.id",
            ),
            (Some(_), 0..=1) => report.error(
                "eks.vpc.subnets",
                "an existing vpc needs at least two subnets, in different availability zones",
            ),
            _ => {}
        }
    }
    if let Some(iam) = &eks.iam {
        for (field, arn) in [
            ("serviceRoleARN", &iam.service_role_arn),
            ("nodeRoleARN", &iam.node_role_arn),
        ] {
            if let Some(arn) = arn {
                report.check(format!("eks.iam.{field}"), names::iam_role_arn(arn));
            }
        }
    }
}

fn check_gke(config: &ClusterConfig, report: &mut Report<'_>) {
    let Some(gke) = &config.gke else {
        report.missing("gke.project", "required for gke");
        return;
    };
    match &gke.project {
        Some(project) => report.check("gke.project", names::gcp_project(project)),
        None => report.missing("gke.project", "required for gke"),
    }
    for (field, value) in [("network", &gke.network), ("subnetwork", &gke.subnetwork)] {
        if let Some(value) = value {
            report.check(format!("gke.{field}"), names::gcp_resource_name(value));
        }
    }
}

fn check_aks(config: &ClusterConfig, report: &mut Report<'_>) {
    let Some(aks) = &config.aks else { return };
    if let Some(group) = &aks.resource_group {
        report.check("aks.resourceGroup", names::azure_resource_group(group));
    }
    if let Some(subscription) = &aks.subscription_id {
        report.check("aks.subscriptionId", names::uuid(subscription));
    }
}
