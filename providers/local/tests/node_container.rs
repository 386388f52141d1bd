//! Node containers on the real Docker daemon: the node image, containerd and a nested runc
//! container inside an unprivileged node, clusterd copied in and verified, and a node that comes
//! back after its container restarts.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterctl_bundle::Clusterd;
use clusterctl_provider_api::Node;
use clusterctl_provider_local::clusterd::CLUSTERD_PATH;
use clusterctl_provider_local::docker::DockerApi;
use clusterctl_provider_local::node_image::{stream, ImageStatus, RECIPE_LABEL, VERSION_LABEL};
use clusterctl_provider_local::steps::{
    CopyClusterd, CreateNetwork, CreateNodes, EnsureNodeImage, Preflight,
};
use clusterctl_provider_local::{DockerNode, Engine, LocalCluster, NodeImage, Role};
use clusterctl_steps::{Ctx, NullReporter, Runner, Step};

/// Creates the node containers of a one-server cluster (no clusterd yet).
async fn one_node_cluster(
    docker: Arc<Engine>,
    purpose: &str,
) -> (LocalCluster, support::CleanupGuard) {
    let name = support::unique_name(purpose);
    let guard = support::CleanupGuard::new(&name);
    let mut cluster = LocalCluster::new(docker.clone(), &name).unwrap();
    cluster.image = support::node_image(docker.as_ref()).await;
    let steps: Vec<Box<dyn Step>> = vec![
        Box::new(Preflight::new(cluster.clone())),
        Box::new(EnsureNodeImage::new(cluster.clone())),
        Box::new(CreateNetwork::new(cluster.clone())),
        Box::new(CreateNodes::new(cluster.clone())),
    ];
    Runner::new(steps)
        .run(&Ctx::new(Arc::new(NullReporter)))
        .await
        .unwrap();
    (cluster, guard)
}

/// Waits until `ctr version` answers inside the node (the entrypoint started containerd).
async fn wait_for_containerd(node: &DockerNode) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match node.run(&["ctr", "version"]).await {
            Ok(_) => return,
            Err(error) if Instant::now() > deadline => panic!("containerd did not start: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test]
async fn node_image_is_current_and_labelled_with_version_and_recipe() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let spec = support::node_image(docker.as_ref()).await;
    let ImageStatus::Current(image) = NodeImage::status(docker.as_ref(), &spec).await.unwrap()
    else {
        panic!("node image {} is not current after a build", spec.reference);
    };
    assert_eq!(image.labels.get(RECIPE_LABEL), Some(&spec.recipe_hash()));
    assert_eq!(
        image.labels.get(VERSION_LABEL).map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // A second ensure finds it current and builds nothing.
    assert!(NodeImage::ensure(docker.as_ref(), &spec, &|_| {})
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn nested_runc_runs_a_container_inside_an_unprivileged_node() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let Some(busybox) = support::host_busybox() else {
        return;
    };
    let (cluster, mut guard) = one_node_cluster(docker.clone(), "runc").await;
    let node = DockerNode::new(docker.clone(), cluster.node_name(Role::Server, 0));
    wait_for_containerd(&node).await;

    // A busybox image from the host's Docker, carried in as a `docker save` archive.
    let image = format!("clusterctl-test/busybox:{}", cluster.name);
    guard.extra_images.push(image.clone());
    support::busybox_image(docker.as_ref(), &busybox, &image).await;
    let archive = stream::collect(docker.save_image(&image).await.unwrap())
        .await
        .unwrap();
    node.copy(&archive, "/var/tmp/busybox.tar", 0o644)
        .await
        .unwrap();
    node.run(&["ctr", "images", "import", "/var/tmp/busybox.tar"])
        .await
        .unwrap();

    let output = node
        .run(&[
            "ctr",
            "run",
            "--rm",
            &format!("docker.io/{image}"),
            "nested-1",
            "/bin/sh",
            "-c",
            "echo hello from nested runc; cat /proc/self/cgroup",
        ])
        .await
        .unwrap();
    assert!(
        output.stdout.starts_with("hello from nested runc\n"),
        "{output:?}"
    );
    // The nested container got its own cgroup below the node's.
    assert!(
        output.stdout.contains("/default/nested-1"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn clusterd_is_copied_verified_by_sha256_and_runs_inside_a_node() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let clusterd = Clusterd::locate()
        .unwrap_or_else(|error| panic!("{error}\n(build it first: cargo build -p clusterd)"));
    let (cluster, _guard) = one_node_cluster(docker.clone(), "copy").await;
    let step = CopyClusterd::new(cluster.clone(), Arc::new(clusterd.clone()));
    let ctx = Ctx::new(Arc::new(NullReporter));
    assert!(!step.is_done(&ctx).await.unwrap());
    Runner::new(vec![Box::new(step.clone())])
        .run(&ctx)
        .await
        .unwrap();
    assert!(step.is_done(&ctx).await.unwrap(), "a re-run skips the copy");

    let node = DockerNode::new(docker.clone(), cluster.node_name(Role::Server, 0));
    let sum = node.run(&["sha256sum", CLUSTERD_PATH]).await.unwrap();
    assert_eq!(
        sum.stdout.split_whitespace().next(),
        Some(clusterd.sha256())
    );
    let version = node.run(&[CLUSTERD_PATH, "--version"]).await.unwrap();
    // The same bytes run on the host (embedded or from a file: extract and run them here).
    let host_dir = tempfile::tempdir().unwrap();
    let host_version = clusterd.run_version(host_dir.path()).unwrap();
    assert_eq!(version.stdout.trim(), host_version);
}

#[tokio::test]
async fn a_restarted_node_container_comes_back_with_containerd() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let (cluster, _guard) = one_node_cluster(docker.clone(), "restart").await;
    let name = cluster.node_name(Role::Server, 0);
    let node = DockerNode::new(docker.clone(), name.clone());
    wait_for_containerd(&node).await;
    node.run(&["sh", "-c", "echo kept > /var/lib/containerd/marker"])
        .await
        .unwrap();

    let restarted = std::process::Command::new("docker")
        .args(["restart", "-t", "2", &name])
        .output()
        .unwrap();
    assert!(restarted.status.success(), "{restarted:?}");
    wait_for_containerd(&node).await;
    // containerd state lives on the node's volume, which a restart keeps.
    assert_eq!(
        node.run(&["cat", "/var/lib/containerd/marker"])
            .await
            .unwrap()
            .stdout,
        "kept\n"
    );
    let policy = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", &name])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&policy.stdout).trim(),
        "unless-stopped"
    );
}

#[tokio::test]
async fn the_entrypoint_execs_clusterd_as_tinis_child_once_its_args_are_written() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let (cluster, _guard) = one_node_cluster(docker.clone(), "init").await;
    let node = DockerNode::new(docker.clone(), cluster.node_name(Role::Server, 0));
    wait_for_containerd(&node).await;
    // A stand-in clusterd that records its arguments and stays up.
    let script = "#!/bin/sh\nprintf '%s|' \"$@\" > /var/tmp/clusterd-args\nexec sleep 300\n";
    node.copy(script.as_bytes(), CLUSTERD_PATH, 0o755)
        .await
        .unwrap();
    node.copy(
        b"server\n--node-name=a b\n",
        "/etc/clusterctl/clusterd.args",
        0o644,
    )
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    let args = loop {
        if let Ok(out) = node.run(&["cat", "/var/tmp/clusterd-args"]).await {
            break out.stdout;
        }
        assert!(Instant::now() < deadline, "clusterd was not started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        args, "server|--node-name=a b|",
        "one argument per line, spaces kept"
    );
    // The shell exec'd clusterd (now `sleep`), so its parent is tini, PID 1.
    let parent = node
        .run(&["sh", "-c", "for p in /proc/[0-9]*; do if [ \"$(cat $p/comm)\" = sleep ]; then awk '/^PPid/ {print $2}' $p/status; fi; done"])
        .await
        .unwrap();
    assert_eq!(parent.stdout.trim(), "1");
    let init = node.run(&["cat", "/proc/1/comm"]).await.unwrap();
    assert_eq!(init.stdout.trim(), "tini");
}
