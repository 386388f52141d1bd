//! The step flow against the recording fake: create, resume, cleanup, dry-run, delete, scale, upgrade.

use std::sync::Arc;
use std::time::Duration;

use clusterctl_config::{ClusterConfig, NodeGroup, Overrides, Provider as ProviderKind};
use clusterctl_provider_api::{ClusterRef, Provider, Scaling};
use clusterctl_steps::{error_chain, Ctx, NullReporter, RunError, Runner};

use crate::api::fake::FakeAws;
use crate::api::{NetKind, NetResource, RoleInfo, Tags};
use crate::{EksOptions, EksProvider};

struct Setup {
    fake: FakeAws,
    provider: EksProvider,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

fn setup() -> Setup {
    let fake = FakeAws::new();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let options = EksOptions {
        kubeconfig: Some(kubeconfig.clone()),
        wait: Some(Duration::from_secs(5)),
        ..EksOptions::default()
    };
    Setup {
        provider: EksProvider::with_clients(fake.aws(), options),
        fake,
        _dir: dir,
        kubeconfig,
    }
}

fn seed_config() -> ClusterConfig {
    let flags = Overrides {
        provider: Some(ProviderKind::Eks),
        name: Some("my-cluster".into()),
        region: Some("us-west-2".into()),
        nodegroup_name: Some("my-nodes".into()),
        node_type: Some("t3.medium".into()),
        nodes: Some(2),
        nodes_min: Some(1),
        nodes_max: Some(3),
        managed: Some(true),
        ..Overrides::default()
    };
    let config = clusterctl_config::merge(None, &flags).unwrap().defaulted();
    config.validate().unwrap();
    config
}

fn cluster() -> ClusterRef {
    ClusterRef {
        name: "my-cluster".into(),
        region: Some("us-west-2".into()),
    }
}

async fn create(s: &Setup, retain: bool) -> Result<clusterctl_steps::RunReport, RunError> {
    let steps = s.provider.create_steps(&seed_config()).unwrap();
    Runner::new(steps)
        .retain(retain)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
}

#[tokio::test]
async fn create_builds_every_resource_tagged_and_writes_the_kubeconfig() {
    let s = setup();
    create(&s, false).await.unwrap();
    let state = s.fake.state();
    assert_eq!(state.clusters["my-cluster"].status, "ACTIVE");
    let ng = &state.nodegroups[&("my-cluster".to_owned(), "my-nodes".to_owned())];
    assert_eq!((ng.desired, ng.min, ng.max), (2, 1, 3));
    let count = |kind| state.net.iter().filter(|(k, _)| *k == kind).count();
    assert_eq!(count(NetKind::Vpc), 1);
    assert_eq!(
        count(NetKind::Subnet),
        4,
        "two public and two private subnets"
    );
    assert_eq!(count(NetKind::NatGateway), 1);
    assert_eq!(count(NetKind::RouteTable), 2);
    assert!(state
        .net
        .iter()
        .all(|(_, r)| crate::names::is_owned(&r.tags, "my-cluster")));
    let (_, policies) = &state.roles["clusterctl-my-cluster-node-role"];
    assert!(policies
        .iter()
        .any(|p| p.ends_with("AmazonEKSWorkerNodePolicy")));
    assert!(crate::names::is_owned(
        &state.clusters["my-cluster"].tags,
        "my-cluster"
    ));
    drop(state);
    let text = std::fs::read_to_string(&s.kubeconfig).unwrap();
    assert!(text.contains("current-context: eks-my-cluster"), "{text}");
    assert!(text.contains("- --region"), "{text}");
}

#[tokio::test]
async fn a_rerun_after_a_failure_resumes_where_it_stopped() {
    let s = setup();
    s.fake.state().fail.push("eks:CreateNodegroup".into());
    let err = create(&s, true).await.unwrap_err();
    assert!(
        error_chain(&err).contains("eks:CreateNodegroup"),
        "{}",
        error_chain(&err)
    );
    s.fake.state().fail.clear();
    let before = s.fake.mutations().len();
    let report = create(&s, false).await.unwrap();
    assert_eq!(
        report.skipped().len(),
        3,
        "network, roles and cluster were already done: {report:?}"
    );
    let after: Vec<String> = s.fake.mutations()[before..].to_vec();
    assert_eq!(after, vec!["eks:CreateNodegroup my-nodes".to_owned()]);
}

#[tokio::test]
async fn a_failure_without_retain_cleans_up_everything_it_made() {
    let s = setup();
    s.fake.state().fail.push("eks:CreateNodegroup".into());
    let err = create(&s, false).await.unwrap_err();
    let text = error_chain(&err);
    assert!(
        text.contains("missing the IAM permission eks:CreateNodegroup"),
        "{text}"
    );
    let state = s.fake.state();
    assert!(state.clusters.is_empty());
    assert!(state.net.is_empty(), "{:?}", state.net);
    assert!(state.roles.is_empty());
}

#[tokio::test]
async fn dry_run_plans_every_mutation_without_any_call() {
    let s = setup();
    let steps = s.provider.create_steps(&seed_config()).unwrap();
    let ctx = Ctx::new(Arc::new(NullReporter)).with_dry_run(true);
    Runner::new(steps).run(&ctx).await.unwrap();
    assert!(
        s.fake.state().calls.is_empty(),
        "{:?}",
        s.fake.state().calls
    );
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    for expected in [
        "would create VPC vpc (192.168.0.0/16) on us-west-2/my-cluster",
        "would create NAT gateway nat on us-west-2/my-cluster",
        "would create IAM role clusterctl-my-cluster-cluster-role (assumed by eks.amazonaws.com) on us-west-2/my-cluster",
        "would create EKS cluster my-cluster (Kubernetes 1.32) on us-west-2/my-cluster",
        "would create managed node group my-nodes (2 x t3.medium, min 1, max 3) on us-west-2/my-cluster",
    ] {
        assert!(plan.iter().any(|p| p == expected), "missing {expected:?} in {plan:#?}");
    }
    assert!(!s.kubeconfig.exists());
}

#[tokio::test]
async fn delete_removes_what_clusterctl_made_and_nothing_else() {
    let s = setup();
    {
        let mut state = s.fake.state();
        let foreign = Tags::from([("clusterctl.io/cluster".to_owned(), "my-cluster".to_owned())]);
        state.net.push((
            NetKind::Vpc,
            NetResource {
                id: "vpc-users".into(),
                tags: foreign,
                ..NetResource::default()
            },
        ));
        state.roles.insert(
            "team-role".into(),
            (
                RoleInfo {
                    name: "team-role".into(),
                    arn: "arn:aws:iam::1:role/team-role".into(),
                    tags: Tags::new(),
                },
                vec![],
            ),
        );
    }
    create(&s, false).await.unwrap();
    let steps = s.provider.delete_steps(&cluster()).unwrap();
    Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap();
    let state = s.fake.state();
    assert!(state.clusters.is_empty() && state.nodegroups.is_empty());
    let left: Vec<&str> = state.net.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(
        left,
        vec!["vpc-users"],
        "only the VPC without the owned tag is left"
    );
    assert_eq!(state.roles.keys().collect::<Vec<_>>(), vec!["team-role"]);
    drop(state);
    let text = std::fs::read_to_string(&s.kubeconfig).unwrap();
    assert!(!text.contains("eks-my-cluster"), "{text}");
}

#[tokio::test]
async fn delete_refuses_a_cluster_clusterctl_did_not_create() {
    let s = setup();
    s.fake.state().clusters.insert(
        "my-cluster".into(),
        crate::api::ClusterInfo {
            name: "my-cluster".into(),
            status: "ACTIVE".into(),
            ..Default::default()
        },
    );
    let steps = s.provider.delete_steps(&cluster()).unwrap();
    let err = Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap_err();
    assert!(
        error_chain(&err).contains("was not created by clusterctl"),
        "{}",
        error_chain(&err)
    );
    assert!(s.fake.state().clusters.contains_key("my-cluster"));
}

#[tokio::test]
async fn scale_checks_bounds_against_the_group_before_updating() {
    let s = setup();
    create(&s, false).await.unwrap();
    let too_big = Scaling {
        desired: 5,
        min: None,
        max: None,
    };
    let err = s
        .provider
        .scale_nodegroup(&cluster(), "my-nodes", too_big)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("desired 5 is above maximum 3"),
        "{err}"
    );
    assert!(!s
        .fake
        .mutations()
        .iter()
        .any(|c| c.starts_with("eks:UpdateNodegroupConfig")));
    let up = Scaling {
        desired: 5,
        min: None,
        max: Some(6),
    };
    s.provider
        .scale_nodegroup(&cluster(), "my-nodes", up)
        .await
        .unwrap();
    let groups = s.provider.list_nodegroups(&cluster()).await.unwrap();
    assert_eq!((groups[0].desired, groups[0].min, groups[0].max), (5, 1, 6));
}

#[tokio::test]
async fn upgrade_moves_the_control_plane_then_the_node_groups() {
    let s = setup();
    create(&s, false).await.unwrap();
    let steps = s.provider.upgrade_steps(&cluster(), "1.33").unwrap();
    Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap();
    let calls = s.fake.mutations();
    let cp = calls
        .iter()
        .position(|c| c == "eks:UpdateClusterVersion my-cluster")
        .unwrap();
    let ng = calls
        .iter()
        .position(|c| c == "eks:UpdateNodegroupVersion my-nodes")
        .unwrap();
    assert!(cp < ng);
    assert_eq!(s.fake.state().clusters["my-cluster"].version, "1.33");
}

#[tokio::test]
async fn create_nodegroup_uses_the_clusters_private_subnets_and_node_role() {
    let s = setup();
    create(&s, false).await.unwrap();
    let group = NodeGroup {
        name: Some("extra".into()),
        desired_capacity: Some(1),
        ..NodeGroup::default()
    };
    let steps = s
        .provider
        .create_nodegroup_steps(&cluster(), &group)
        .unwrap();
    Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap();
    let names: Vec<String> = s
        .provider
        .list_nodegroups(&cluster())
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, vec!["extra".to_owned(), "my-nodes".to_owned()]);
    let steps = s
        .provider
        .delete_nodegroup_steps(&cluster(), "extra")
        .unwrap();
    Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap();
    assert_eq!(
        s.provider.list_nodegroups(&cluster()).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn get_clusters_lists_only_clusters_clusterctl_made() {
    let s = setup();
    create(&s, false).await.unwrap();
    s.fake.state().clusters.insert(
        "someone-elses".into(),
        crate::api::ClusterInfo {
            name: "someone-elses".into(),
            status: "ACTIVE".into(),
            ..Default::default()
        },
    );
    let clusters = s.provider.list_clusters(None).await.unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "my-cluster");
    assert_eq!(clusters[0].region.as_deref(), Some("us-west-2"));
}
