//! Names and tags of everything the provider creates, so a re-run or a `delete` finds exactly it.

use clusterctl_provider_api::labels;

use crate::api::Tags;
use crate::{Error, Result};

/// Tag naming the piece of the cluster a resource is (`vpc`, `subnet-public-us-west-2a`, ...),
/// so each is found again by what it is for rather than by id.
pub const RESOURCE: &str = "clusterctl.io/resource";

/// The tags that mark a resource as created by clusterctl for `cluster`.
pub fn owned(cluster: &str) -> Tags {
    labels::for_cluster(cluster)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// The owned tags plus the logical resource name, the user's tags and an AWS `Name` tag.
pub fn tags_for(cluster: &str, resource: &str, extra: &Tags) -> Tags {
    let mut tags = extra.clone();
    tags.extend(owned(cluster));
    tags.insert(RESOURCE.to_owned(), resource.to_owned());
    tags.insert(
        "Name".to_owned(),
        format!("clusterctl-{cluster}/{resource}"),
    );
    tags
}

/// The owned tags plus one logical resource name: the filter to find that one resource.
pub fn filter_for(cluster: &str, resource: &str) -> Tags {
    let mut tags = owned(cluster);
    tags.insert(RESOURCE.to_owned(), resource.to_owned());
    tags
}

/// Whether `tags` say clusterctl created the resource for `cluster`.
pub fn is_owned(tags: &Tags, cluster: &str) -> bool {
    tags.get(labels::CLUSTER).map(String::as_str) == Some(cluster)
        && tags.get(labels::OWNED).map(String::as_str) == Some("true")
}

/// Which IAM role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// The role the EKS control plane assumes.
    Cluster,
    /// The role the worker nodes assume.
    Node,
}

impl RoleKind {
    /// Both roles.
    pub const ALL: [RoleKind; 2] = [RoleKind::Cluster, RoleKind::Node];

    /// The service that assumes the role.
    pub fn principal(self) -> &'static str {
        match self {
            RoleKind::Cluster => "eks.amazonaws.com",
            RoleKind::Node => "ec2.amazonaws.com",
        }
    }

    /// The AWS managed policies EKS needs on the role.
    pub fn policies(self) -> &'static [&'static str] {
        match self {
            RoleKind::Cluster => &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
            RoleKind::Node => &[
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            ],
        }
    }

    /// `cluster` or `node`, for names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Cluster => "cluster",
            RoleKind::Node => "node",
        }
    }

    /// The trust policy letting the service assume the role.
    pub fn trust_policy(self) -> String {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": self.principal() },
                "Action": "sts:AssumeRole"
            }]
        })
        .to_string()
    }
}

/// The IAM role name clusterctl gives `kind` of `cluster`; IAM allows 64 characters.
pub fn role_name(cluster: &str, kind: RoleKind) -> Result<String> {
    let name = format!("clusterctl-{cluster}-{}-role", kind.as_str());
    if name.len() > 64 {
        return Err(Error::Invalid(format!(
            "cluster name {cluster:?} is too long for the IAM role name {name:?} (64 characters at most); \
             use a shorter name or give existing roles in eks.iam"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_tags_mark_the_cluster_and_ownership() {
        let tags = tags_for("dev", "vpc", &Tags::new());
        assert!(is_owned(&tags, "dev"));
        assert!(!is_owned(&tags, "prod"));
        assert_eq!(tags["Name"], "clusterctl-dev/vpc");
        assert_eq!(tags[RESOURCE], "vpc");
    }

    #[test]
    fn user_tags_cannot_override_ownership_tags() {
        let extra = Tags::from([("clusterctl.io/cluster".to_owned(), "other".to_owned())]);
        assert!(is_owned(&tags_for("dev", "vpc", &extra), "dev"));
    }

    #[test]
    fn overlong_role_names_are_rejected_with_the_way_out() {
        let err = role_name(&"x".repeat(60), RoleKind::Node)
            .unwrap_err()
            .to_string();
        assert!(err.contains("eks.iam"), "{err}");
        assert_eq!(
            role_name("dev", RoleKind::Cluster).unwrap(),
            "clusterctl-dev-cluster-role"
        );
    }

    #[test]
    fn trust_policy_lets_the_service_assume_the_role() {
        let doc: serde_json::Value = serde_json::from_str(&RoleKind::Node.trust_policy()).unwrap();
        assert_eq!(
            doc["Statement"][0]["Principal"]["Service"],
            "ec2.amazonaws.com"
        );
    }
}
