//! The create and delete step lists against the recording fake: what a run changes, what a
//! re-run skips, what a dry run plans and what cleanup removes.

use std::sync::Arc;

use clusterctl_bundle::Clusterd;
use clusterctl_steps::{Ctx, RecordingReporter, Runner};

use super::{delete_steps, provision_steps};
use crate::clusterd::CLUSTERD_PATH;
use crate::docker::{Call, ContainerState, DockerApi, ExecOutput, FakeDocker, Labels};
use crate::node_image::{NodeImageSpec, RootfsCache, RECIPE_LABEL};
use crate::plan::LocalCluster;

struct Fixture {
    docker: FakeDocker,
    cluster: LocalCluster,
    clusterd: Arc<Clusterd>,
    dir: tempfile::TempDir,
}

fn fixture(name: &str, agents: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clusterd");
    std::fs::write(&path, b"clusterd bytes").unwrap();
    let clusterd = Arc::new(Clusterd::from_file(&path).unwrap());
    let docker = FakeDocker::new();
    docker.on_exec(|_, argv| ExecOutput {
        exit_code: 0,
        stdout: if argv.iter().any(|a| a == "--version") {
            "clusterd 0.1.0\n".into()
        } else {
            String::new()
        },
        stderr: String::new(),
    });
    let mut cluster = LocalCluster::new(Arc::new(docker.clone()), name).unwrap();
    cluster.agents = agents;
    // A cached (empty) rootfs, so a build needs no debootstrap.
    cluster.image = NodeImageSpec {
        cache: RootfsCache::new(dir.path()),
        ..NodeImageSpec::default()
    };
    let key = RootfsCache::key(&cluster.image.recipe, &cluster.image.mirror);
    tar::Builder::new(std::fs::File::create(cluster.image.cache.tarball(&key)).unwrap())
        .finish()
        .unwrap();
    Fixture {
        docker,
        cluster,
        clusterd,
        dir,
    }
}

impl Fixture {
    fn kubeconfig(&self) -> std::path::PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

fn ctx(dry_run: bool) -> Ctx {
    Ctx::new(Arc::new(RecordingReporter::new())).with_dry_run(dry_run)
}

fn creates(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|call| match call {
            Call::CreateContainer(spec) => Some(spec.name.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn create_builds_the_image_makes_network_and_nodes_and_copies_clusterd() {
    let f = fixture("dev", 2);
    let report = Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx(false))
        .await
        .unwrap();
    assert!(report.skipped().is_empty(), "{report:?}");
    let calls = f.docker.calls();
    assert!(calls
        .iter()
        .any(|c| matches!(c, Call::ImportImage(r, _) if r == "clusterctl/node:v1.32")));
    assert_eq!(f.docker.network_names(), ["clusterctl-dev"]);
    assert_eq!(
        creates(&calls),
        ["dev-server-0", "dev-agent-0", "dev-agent-1"]
    );
    assert_eq!(
        f.docker.volume_names(),
        [
            "dev-agent-0-containerd",
            "dev-agent-1-containerd",
            "dev-server-0-containerd"
        ]
    );
    for node in ["dev-server-0", "dev-agent-0", "dev-agent-1"] {
        assert_eq!(
            f.docker.file(node, CLUSTERD_PATH).as_deref(),
            Some(f.clusterd.bytes()),
            "{node}"
        );
    }
}

#[tokio::test]
async fn a_rerun_after_success_skips_every_step_and_changes_nothing() {
    let f = fixture("dev", 1);
    let steps = || provision_steps(&f.cluster, f.clusterd.clone());
    Runner::new(steps()).run(&ctx(false)).await.unwrap();
    let before = f.docker.calls().len();
    let report = Runner::new(steps()).run(&ctx(false)).await.unwrap();
    assert_eq!(
        report.ran(),
        ["Checking Docker and the node image"],
        "only preflight runs again"
    );
    let changed: Vec<Call> = f.docker.calls()[before..]
        .iter()
        .filter(|c| !matches!(c, Call::Exec(..)))
        .cloned()
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}

#[tokio::test]
async fn a_stopped_node_is_started_again_not_recreated() {
    let f = fixture("dev", 0);
    let steps = || provision_steps(&f.cluster, f.clusterd.clone());
    Runner::new(steps()).run(&ctx(false)).await.unwrap();
    f.docker.stop_container("dev-server-0", 1).await.unwrap();
    Runner::new(steps()).run(&ctx(false)).await.unwrap();
    let calls = f.docker.calls();
    assert_eq!(creates(&calls).len(), 1);
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, Call::StartContainer(_)))
            .count(),
        2
    );
}

#[tokio::test]
async fn dry_run_plans_every_change_and_makes_none() {
    let f = fixture("dev", 1);
    let ctx = ctx(true);
    Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx)
        .await
        .unwrap();
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    assert_eq!(
        plan[0],
        "would build node image clusterctl/node:v1.32 on docker"
    );
    assert_eq!(plan[1], "would create network clusterctl-dev on docker/dev");
    assert!(
        plan.contains(&"would create volume dev-agent-0-containerd on dev-agent-0".to_owned()),
        "{plan:#?}"
    );
    assert!(
        plan.iter().any(|p| p.starts_with(
            "would create container dev-server-0 from clusterctl/node:v1.32 publishing 127.0.0.1:"
        )),
        "{plan:#?}"
    );
    assert!(plan.iter().any(|p| p.starts_with("would copy clusterd (sha256 ") && p.ends_with("on dev-agent-0")), "{plan:#?}");
    let changes = f.docker.calls();
    assert!(
        changes.iter().all(|c| matches!(c, Call::Exec(..))),
        "{changes:?}"
    );
}

#[tokio::test]
async fn preflight_refuses_a_foreign_container_holding_a_node_name() {
    let f = fixture("dev", 0);
    f.docker
        .add_container("dev-server-0", Labels::new(), ContainerState::Running);
    let error = Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx(false))
        .await
        .unwrap_err();
    assert_eq!(error.step(), "Checking Docker and the node image");
    assert!(
        error
            .to_string()
            .contains("\"dev-server-0\" already exists and does not belong to cluster \"dev\""),
        "{error}"
    );
    assert_eq!(
        f.docker.container_names(),
        ["dev-server-0"],
        "the foreign container is untouched"
    );
}

#[tokio::test]
async fn a_failed_copy_cleans_up_nodes_and_network_but_keeps_the_image() {
    let f = fixture("dev", 1);
    f.docker.on_exec(|_, argv| ExecOutput {
        exit_code: if argv.iter().any(|a| a == "--version") {
            127
        } else {
            0
        },
        stdout: String::new(),
        stderr: "clusterd: not found\n".into(),
    });
    let error = Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx(false))
        .await
        .unwrap_err();
    assert_eq!(error.step(), "Copying clusterd to 2 nodes");
    assert!(error.to_string().contains("clusterd: not found"), "{error}");
    assert!(f.docker.container_names().is_empty());
    assert!(f.docker.volume_names().is_empty());
    assert!(f.docker.network_names().is_empty());
    let kept = f.docker.inspect_image_labels("clusterctl/node:v1.32");
    assert!(kept.is_some_and(|labels| labels.contains_key(RECIPE_LABEL)));
}

#[tokio::test]
async fn delete_removes_the_cluster_and_leaves_its_neighbours() {
    let f = fixture("dev", 1);
    Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx(false))
        .await
        .unwrap();
    f.docker
        .add_container("my-db", Labels::new(), ContainerState::Running);
    let report = Runner::new(delete_steps(
        Arc::new(f.docker.clone()),
        "dev",
        Some(f.kubeconfig()),
    ))
    .run(&ctx(false))
    .await
    .unwrap();
    assert_eq!(
        report.ran(),
        ["Deleting the containers, volumes and network of cluster dev"]
    );
    assert_eq!(f.docker.container_names(), ["my-db"]);
    assert!(f.docker.volume_names().is_empty());
    assert!(f.docker.network_names().is_empty());
    let again = Runner::new(delete_steps(
        Arc::new(f.docker.clone()),
        "dev",
        Some(f.kubeconfig()),
    ))
    .run(&ctx(false))
    .await
    .unwrap();
    assert_eq!(
        again.skipped().len(),
        2,
        "deleting a deleted cluster is a no-op"
    );
}

#[tokio::test]
async fn nodes_get_fixed_addresses_in_the_lower_half_of_the_networks_own_subnet() {
    let f = fixture("dev", 2);
    Runner::new(provision_steps(&f.cluster, f.clusterd.clone()))
        .run(&ctx(false))
        .await
        .unwrap();
    let networks = f
        .docker
        .list_networks(&crate::names::cluster_labels("dev"))
        .await
        .unwrap();
    assert_eq!(networks.len(), 1);
    assert_eq!(
        networks[0].labels[crate::names::FIXED_ADDRESSES_LABEL],
        "true"
    );
    assert_eq!(networks[0].subnet.as_deref(), Some("172.18.0.0/16"));
    for (node, address) in [
        ("dev-server-0", "172.18.0.2"),
        ("dev-agent-0", "172.18.0.3"),
        ("dev-agent-1", "172.18.0.4"),
    ] {
        let found = f.docker.inspect_container(node).await.unwrap().unwrap();
        assert_eq!(found.addresses["clusterctl-dev"], address, "{node}");
    }
}
