//! A local cluster's life on the real Docker daemon: the create steps that exist so far,
//! rediscovery from labels, a dry run, and a delete that removes exactly the cluster's
//! containers, volumes and network while an unrelated container, volume and network stay.

mod support;

use std::process::Command;
use std::sync::Arc;

use clusterctl_bundle::Clusterd;
use clusterctl_provider_local::cluster::{list_clusters, list_nodes};
use clusterctl_provider_local::docker::{ContainerSpec, ContainerState, DockerApi, Labels};
use clusterctl_provider_local::steps::{delete_steps, provision_steps};
use clusterctl_provider_local::{LocalCluster, Role};
use clusterctl_steps::{Ctx, NullReporter, RecordingReporter, Runner};

fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn create_rediscover_and_delete_touch_only_the_clusters_resources() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let Some(busybox) = support::host_busybox() else {
        return;
    };
    let clusterd = Clusterd::locate()
        .unwrap_or_else(|error| panic!("{error}\n(build it first: cargo build -p clusterd)"));
    let name = support::unique_name("life");
    let mut guard = support::CleanupGuard::new(&name);

    let mut cluster = LocalCluster::new(docker.clone(), &name).unwrap();
    cluster.agents = 1;
    cluster.image = support::node_image(docker.as_ref()).await;
    let steps = || provision_steps(&cluster, Arc::new(clusterd.clone()));

    // A dry run on a fresh name plans the changes and makes none.
    let dry = Ctx::new(Arc::new(NullReporter)).with_dry_run(true);
    Runner::new(steps()).run(&dry).await.unwrap();
    assert!(dry
        .plan()
        .iter()
        .any(|p| p.action == format!("create network clusterctl-{name}")));
    assert!(docker_cli(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=clusterctl.io/cluster={name}")
    ])
    .is_empty());

    let reporter = Arc::new(RecordingReporter::new());
    let report = Runner::new(steps())
        .run(&Ctx::new(reporter.clone()))
        .await
        .unwrap();
    assert_eq!(
        report.skipped(),
        [format!("Preparing node image {}", cluster.image.reference)]
    );

    // Rediscovered from labels alone.
    let clusters = list_clusters(docker.as_ref()).await.unwrap();
    let found = clusters
        .iter()
        .find(|c| c.name == name)
        .expect("cluster listed");
    assert_eq!(found.status(), "Running");
    assert!(found.has_network);
    let nodes = list_nodes(docker.as_ref(), &name).await.unwrap();
    let roles: Vec<(String, Option<Role>)> =
        nodes.iter().map(|n| (n.name.clone(), n.role)).collect();
    assert_eq!(
        roles,
        [
            (format!("{name}-server-0"), Some(Role::Server)),
            (format!("{name}-agent-0"), Some(Role::Agent))
        ]
    );
    assert!(nodes
        .iter()
        .all(|n| n.state == ContainerState::Running && n.address.is_some()));
    // The API port is published on 127.0.0.1, at the port the summary reports.
    let published = docker_cli(&["port", &format!("{name}-server-0"), "6443/tcp"]);
    let endpoint = found.endpoint().expect("server publishes the API port");
    assert_eq!(endpoint.replace("https://", ""), published);
    assert!(published.starts_with("127.0.0.1:"), "{published}");

    // Unrelated neighbours: a plain container, a container of a cluster whose name extends ours,
    // a volume and a network.
    let image = format!("clusterctl-test/busybox:{name}");
    guard.extra_images.push(image.clone());
    support::busybox_image(docker.as_ref(), &busybox, &image).await;
    let neighbour_labels = clusterctl_provider_local::names::cluster_labels(&format!("{name}x"));
    for (container, labels) in [
        (format!("{name}-plain"), Labels::new()),
        (format!("{name}x-server-0"), neighbour_labels),
    ] {
        guard.extra_containers.push(container.clone());
        let spec = ContainerSpec {
            name: container.clone(),
            hostname: "neighbour".into(),
            image: image.clone(),
            labels,
            cmd: Some(vec!["sleep".into(), "300".into()]),
            ..ContainerSpec::default()
        };
        docker.create_container(&spec).await.unwrap();
        docker.start_container(&container).await.unwrap();
    }
    let volume = format!("{name}-server-0-data");
    let network = format!("{name}-net");
    guard.extra_volumes.push(volume.clone());
    guard.extra_networks.push(network.clone());
    docker.create_volume(&volume, &Labels::new()).await.unwrap();
    docker
        .create_network(&network, &Labels::new(), None)
        .await
        .unwrap();

    let kubeconfig = tempfile::tempdir().unwrap();
    Runner::new(delete_steps(
        docker.clone(),
        &name,
        Some(kubeconfig.path().join("config")),
    ))
    .run(&Ctx::new(Arc::new(NullReporter)))
    .await
    .unwrap();

    let filter = format!("label=clusterctl.io/cluster={name}");
    assert!(docker_cli(&["ps", "-aq", "--filter", &filter]).is_empty());
    assert!(docker_cli(&["volume", "ls", "-q", "--filter", &filter]).is_empty());
    assert!(docker_cli(&["network", "ls", "-q", "--filter", &filter]).is_empty());
    assert!(!list_clusters(docker.as_ref())
        .await
        .unwrap()
        .iter()
        .any(|c| c.name == name));
    for kept in [format!("{name}-plain"), format!("{name}x-server-0")] {
        let state = docker_cli(&["inspect", "-f", "{{.State.Status}}", &kept]);
        assert_eq!(state, "running", "{kept} must survive the delete");
    }
    assert_eq!(
        docker_cli(&["volume", "inspect", "-f", "{{.Name}}", &volume]),
        volume
    );
    assert_eq!(
        docker_cli(&["network", "inspect", "-f", "{{.Name}}", &network]),
        network
    );
}

#[tokio::test]
async fn a_failed_create_cleans_up_what_it_made() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let name = support::unique_name("fail");
    let _guard = support::CleanupGuard::new(&name);
    let mut cluster = LocalCluster::new(docker.clone(), &name).unwrap();
    cluster.image = support::node_image(docker.as_ref()).await;
    // A clusterd that cannot run in the node: the copy step fails after the nodes exist.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("clusterd");
    std::fs::write(&broken, b"not an executable").unwrap();
    let clusterd = Arc::new(Clusterd::from_file(&broken).unwrap());

    let error = Runner::new(provision_steps(&cluster, clusterd))
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap_err();
    assert_eq!(error.step(), "Copying clusterd to 1 node");
    assert!(
        error.to_string().contains(&format!(
            "command failed on {name}-server-0: /usr/local/bin/clusterd --version"
        )),
        "{error}"
    );
    assert!(error.cleanup_errors().is_empty(), "{error}");
    let filter = format!("label=clusterctl.io/cluster={name}");
    assert!(docker_cli(&["ps", "-aq", "--filter", &filter]).is_empty());
    assert!(docker_cli(&["volume", "ls", "-q", "--filter", &filter]).is_empty());
    assert!(docker_cli(&["network", "ls", "-q", "--filter", &filter]).is_empty());
}
