//! The bollard-backed `DockerApi` against the real Docker daemon: networks, volumes, containers,
//! exec, file upload and images, each found again by label.

mod support;

use clusterctl_provider_api::Node;
use clusterctl_provider_local::docker::{ContainerSpec, ContainerState, DockerApi, VolumeMount};
use clusterctl_provider_local::names;
use clusterctl_provider_local::node_image::stream;
use clusterctl_provider_local::DockerNode;

#[tokio::test]
async fn engine_reports_the_daemon_and_its_cgroup_setup() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let info = docker.info().await.unwrap();
    assert!(!info.version.is_empty());
    assert!(
        ["1", "2"].contains(&info.cgroup_version.as_str()),
        "{info:?}"
    );
    // The API version was negotiated down to what the daemon speaks.
    let expected = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .unwrap();
    assert_eq!(
        info.api_version,
        String::from_utf8_lossy(&expected.stdout).trim()
    );
}

#[tokio::test]
async fn labelled_network_volume_and_container_are_found_by_label_and_removed() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let Some(busybox) = support::host_busybox() else {
        return;
    };
    let cluster = support::unique_name("engine");
    let mut guard = support::CleanupGuard::new(&cluster);
    let image = format!("clusterctl-test/busybox:{cluster}");
    guard.extra_images.push(image.clone());
    support::busybox_image(docker.as_ref(), &busybox, &image).await;

    let labels = names::cluster_labels(&cluster);
    docker
        .create_network(&names::network(&cluster), &labels, None)
        .await
        .unwrap();
    docker
        .create_volume(&format!("{cluster}-data"), &labels)
        .await
        .unwrap();
    let spec = ContainerSpec {
        name: format!("{cluster}-box"),
        hostname: "box".into(),
        image: image.clone(),
        labels: labels.clone(),
        network: Some(names::network(&cluster)),
        cmd: Some(vec!["sleep".into(), "300".into()]),
        volumes: vec![VolumeMount {
            volume: format!("{cluster}-data"),
            target: "/data".into(),
        }],
        ..ContainerSpec::default()
    };
    docker.create_container(&spec).await.unwrap();
    docker.start_container(&spec.name).await.unwrap();

    let found = docker.list_containers(&labels).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, spec.name);
    assert_eq!(found[0].state, ContainerState::Running);
    assert!(
        found[0].addresses.contains_key(&names::network(&cluster)),
        "{found:?}"
    );
    assert_eq!(
        docker.list_networks(&labels).await.unwrap()[0].name,
        names::network(&cluster)
    );
    assert_eq!(
        docker.list_volumes(&labels).await.unwrap()[0].name,
        format!("{cluster}-data")
    );

    // Exec reports output and exit codes; upload lands files (not on tmpfs) with their mode.
    let node = DockerNode::new(docker.clone(), spec.name.clone());
    let out = node
        .run(&["sh", "-c", "echo out; echo err >&2"])
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", "err\n")
    );
    let error = node
        .run(&["sh", "-c", "echo no such thing >&2; exit 3"])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no such thing"), "{error}");
    node.copy(b"hello\n", "/data/greeting", 0o640)
        .await
        .unwrap();
    let listed = node.run(&["ls", "-l", "/data/greeting"]).await.unwrap();
    assert!(listed.stdout.starts_with("-rw-r-----"), "{}", listed.stdout);
    assert_eq!(
        node.run(&["cat", "/data/greeting"]).await.unwrap().stdout,
        "hello\n"
    );

    docker.stop_container(&spec.name, 1).await.unwrap();
    let stopped = docker.inspect_container(&spec.name).await.unwrap().unwrap();
    assert_eq!(stopped.state, ContainerState::Exited);

    docker.remove_container(&spec.name).await.unwrap();
    docker
        .remove_volume(&format!("{cluster}-data"))
        .await
        .unwrap();
    docker
        .remove_network(&names::network(&cluster))
        .await
        .unwrap();
    assert!(docker
        .inspect_container(&spec.name)
        .await
        .unwrap()
        .is_none());
    assert!(docker.list_volumes(&labels).await.unwrap().is_empty());
    assert!(docker.list_networks(&labels).await.unwrap().is_empty());
    // Removing what is already gone is not an error.
    docker.remove_container(&spec.name).await.unwrap();
    docker
        .remove_network(&names::network(&cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn images_are_imported_with_labels_saved_and_loaded_back() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let Some(busybox) = support::host_busybox() else {
        return;
    };
    let tag = support::unique_name("image");
    let reference = format!("clusterctl-test/busybox:{tag}");
    let mut guard = support::CleanupGuard::new(&tag);
    guard.extra_images.push(reference.clone());

    let changes = vec![
        "LABEL clusterctl.io/recipe-hash=abc123".to_owned(),
        r#"CMD ["/bin/sh"]"#.to_owned(),
    ];
    let id = docker
        .import_image(
            &reference,
            &changes,
            support::stream_of(support::busybox_rootfs(&busybox)),
        )
        .await
        .unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    let image = docker.inspect_image(&reference).await.unwrap().unwrap();
    assert_eq!(
        image
            .labels
            .get("clusterctl.io/recipe-hash")
            .map(String::as_str),
        Some("abc123")
    );
    assert!(docker
        .list_images(&reference)
        .await
        .unwrap()
        .iter()
        .any(|i| i.id == id));

    let saved = stream::collect(docker.save_image(&reference).await.unwrap())
        .await
        .unwrap();
    let paths = stream::list_paths(&saved).unwrap();
    assert!(paths.iter().any(|p| p == "manifest.json"), "{paths:?}");

    docker.remove_image(&reference).await.unwrap();
    assert!(docker.inspect_image(&reference).await.unwrap().is_none());
    docker.load_image(support::stream_of(saved)).await.unwrap();
    let loaded = docker.inspect_image(&reference).await.unwrap().unwrap();
    assert_eq!(loaded.id, id);
}
