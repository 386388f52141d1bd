//! The recording fake follows the CRI rules the agent relies on, so unit tests written against it
//! mean the same as runs against containerd.

use std::time::Duration;

use clusterd_cri::{api, Call, ExecOutput, FakeRuntime, Runtime};

fn sandbox(name: &str) -> api::PodSandboxConfig {
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: name.into(),
            namespace: "default".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container(name: &str, image: &str) -> api::ContainerConfig {
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(api::ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_pod_runs_through_its_lifecycle_and_every_call_is_recorded() {
    let runtime = FakeRuntime::new();
    runtime.add_image("busybox:latest");
    let pod = runtime.run_pod_sandbox(sandbox("web")).await.unwrap();
    let main = runtime
        .create_container(&pod, container("main", "busybox:latest"), sandbox("web"))
        .await
        .unwrap();
    runtime.start_container(&main).await.unwrap();
    let status = runtime.container_status(&main).await.unwrap();
    assert_eq!(status.state, api::ContainerState::ContainerRunning as i32);

    runtime.stop_pod_sandbox(&pod).await.unwrap();
    let status = runtime.container_status(&main).await.unwrap();
    assert_eq!(
        status.state,
        api::ContainerState::ContainerExited as i32,
        "stopping a pod stops its containers"
    );
    runtime.remove_pod_sandbox(&pod).await.unwrap();
    assert!(
        runtime.list_containers(None).await.unwrap().is_empty(),
        "removing a pod removes its containers"
    );

    assert_eq!(
        runtime.calls(),
        [
            Call::RunPodSandbox("web".into()),
            Call::CreateContainer(pod.clone(), "main".into()),
            Call::StartContainer(main.clone()),
            Call::ContainerStatus(main.clone()),
            Call::StopPodSandbox(pod.clone()),
            Call::ContainerStatus(main.clone()),
            Call::RemovePodSandbox(pod.clone()),
            Call::ListContainers,
        ]
    );
}

#[tokio::test]
async fn creating_a_container_needs_its_image_and_sandbox() {
    let runtime = FakeRuntime::new();
    let pod = runtime.run_pod_sandbox(sandbox("web")).await.unwrap();
    let no_image = runtime
        .create_container(&pod, container("main", "nginx:1"), sandbox("web"))
        .await
        .unwrap_err();
    assert!(no_image.is_not_found(), "{no_image}");

    runtime.pull_image("nginx:1", None).await.unwrap();
    let no_sandbox = runtime
        .create_container("sandbox-404", container("main", "nginx:1"), sandbox("web"))
        .await
        .unwrap_err();
    assert!(no_sandbox.is_not_found(), "{no_sandbox}");
    assert!(runtime.image_status("nginx:1").await.unwrap().is_some());
}

#[tokio::test]
async fn stop_and_remove_of_missing_objects_succeed_but_status_says_not_found() {
    let runtime = FakeRuntime::new();
    runtime
        .stop_container("gone", Duration::from_secs(1))
        .await
        .unwrap();
    runtime.remove_container("gone").await.unwrap();
    runtime.stop_pod_sandbox("gone").await.unwrap();
    runtime.remove_pod_sandbox("gone").await.unwrap();
    runtime.remove_image("gone:1").await.unwrap();
    assert!(runtime
        .container_status("gone")
        .await
        .unwrap_err()
        .is_not_found());
    assert!(runtime
        .pod_sandbox_status("gone")
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn injected_failures_hit_the_next_call_only() {
    let runtime = FakeRuntime::new();
    runtime.fail_next("RunPodSandbox", tonic::Code::Unavailable);
    let error = runtime.run_pod_sandbox(sandbox("web")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "cri RunPodSandbox web: Unavailable: injected by FakeRuntime"
    );
    runtime.run_pod_sandbox(sandbox("web")).await.unwrap();
}

#[tokio::test]
async fn exec_answers_with_the_scripted_output_in_running_containers_only() {
    let runtime = FakeRuntime::new();
    runtime.add_image("busybox:latest");
    let pod = runtime.run_pod_sandbox(sandbox("web")).await.unwrap();
    let main = runtime
        .create_container(&pod, container("main", "busybox:latest"), sandbox("web"))
        .await
        .unwrap();
    let cmd = vec!["cat".to_owned(), "/ready".to_owned()];
    let not_started = runtime
        .exec_sync(&main, &cmd, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(
        not_started.to_string().contains("not running"),
        "{not_started}"
    );

    runtime.start_container(&main).await.unwrap();
    let scripted = ExecOutput {
        stdout: b"ok\n".to_vec(),
        stderr: Vec::new(),
        exit_code: 0,
    };
    runtime.set_exec_output(scripted.clone());
    assert_eq!(
        runtime
            .exec_sync(&main, &cmd, Duration::ZERO)
            .await
            .unwrap(),
        scripted
    );
    assert_eq!(runtime.calls().last(), Some(&Call::ExecSync(main, cmd)));
}
