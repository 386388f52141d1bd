//! The runtime layer against the real containerd, runc and CNI plugins on this machine.
//! Each test starts its own containerd (own root, state, socket, bridge and pod CIDR), so it
//! never touches Docker's containerd. Skipped, with the reason printed, when not root or when
//! containerd, runc, the CNI plugins or busybox-static are not installed.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clusterd_cri::cri_log::{self, Stream};
use clusterd_cri::{api, Runtime};
use common::{exec_until_ok, host, run_container, sandbox_config, Node, BUSYBOX_IMAGE, INDEX_HTML};

/// One test at a time: each runs a containerd, and the machine has two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn pod_ip(status: &api::PodSandboxStatus) -> Ipv4Addr {
    let network = status
        .network
        .as_ref()
        .expect("sandbox status has a network");
    network.ip.parse().expect("pod ip is IPv4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_get_ips_talk_over_localhost_and_pod_ips_and_leave_nothing_behind() {
    require_containerd!();
    let _serial = SERIAL.lock().await;
    let netns_before = host("ip", &["netns", "list"]);
    let node = Node::start("cri-test0", "10.244.250.0/24").await;
    let runtime = node.runtime();

    let version = runtime.version().await.unwrap();
    assert_eq!(version.runtime_name, "containerd");
    assert_eq!(version.runtime_api_version, "v1");
    let health = runtime.status().await.unwrap();
    assert!(health.runtime_ready && health.network_ready, "{health:?}");
    let image = runtime
        .image_status(BUSYBOX_IMAGE)
        .await
        .unwrap()
        .expect("busybox was imported");
    assert_eq!(
        image.id,
        common::busybox_image()
            .write_docker_archive(&node.path().join("again.tar"))
            .unwrap(),
        "the runtime's image id is the id the builder computed"
    );

    // Pod "web": a web server, a client beside it, and a container that logs.
    let web_config = sandbox_config("web", &node.log_dir("web"));
    let web = runtime.run_pod_sandbox(web_config.clone()).await.unwrap();
    let web_ip = pod_ip(&runtime.pod_sandbox_status(&web).await.unwrap());
    assert!(
        node.cni.pod_cidr.contains(web_ip),
        "{web_ip} outside {}",
        node.cni.pod_cidr
    );
    let server = run_container(
        runtime,
        &web,
        &web_config,
        "server",
        &["httpd", "-f", "-p", "8080", "-h", "/www"],
    )
    .await;
    let sidecar = run_container(runtime, &web, &web_config, "sidecar", &["sleep", "3600"]).await;
    let logger = run_container(
        runtime,
        &web,
        &web_config,
        "logger",
        &[
            "sh",
            "-c",
            "echo line-one; echo line-two >&2; exec sleep 3600",
        ],
    )
    .await;

    let hi = runtime
        .exec_sync(
            &server,
            &["echo".into(), "hi".into()],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        (hi.exit_code, hi.stdout.as_slice()),
        (0, b"hi\n".as_slice())
    );
    let failing = runtime
        .exec_sync(
            &server,
            &["sh".into(), "-c".into(), "exit 3".into()],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(failing.exit_code, 3, "exit codes come back from exec");

    let over_localhost = exec_until_ok(
        runtime,
        &sidecar,
        &["wget", "-qO-", "http://127.0.0.1:8080/"],
    )
    .await;
    assert_eq!(
        over_localhost, INDEX_HTML,
        "containers of one pod share localhost"
    );

    // The pause process is PID 1 of the pod's shared PID namespace and reaps orphans.
    let orphan = ["sh", "-c", "(sleep 0.2 &) ; true"].map(String::from);
    let made = runtime
        .exec_sync(&sidecar, &orphan, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(made.exit_code, 0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let procs = exec_until_ok(runtime, &sidecar, &["sh", "-c", "cat /proc/[0-9]*/stat"]).await;
    assert!(
        procs.lines().any(|l| l.starts_with("1 (pause) S")),
        "pause is PID 1:\n{procs}"
    );
    let zombies: Vec<_> = procs
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("Z"))
        .collect();
    assert!(zombies.is_empty(), "zombies left in the pod: {zombies:?}");

    // Pod "client": reaches "web" by its pod IP through the bridge.
    let client_config = sandbox_config("client", &node.log_dir("client"));
    let client = runtime
        .run_pod_sandbox(client_config.clone())
        .await
        .unwrap();
    let client_ip = pod_ip(&runtime.pod_sandbox_status(&client).await.unwrap());
    assert_ne!(client_ip, web_ip);
    assert!(node.cni.pod_cidr.contains(client_ip));
    let fetcher = run_container(
        runtime,
        &client,
        &client_config,
        "fetcher",
        &["sleep", "3600"],
    )
    .await;
    let url = format!("http://{web_ip}:8080/");
    let over_pod_ip = exec_until_ok(runtime, &fetcher, &["wget", "-qO-", &url]).await;
    assert_eq!(over_pod_ip, INDEX_HTML, "a pod reaches another by pod IP");

    // The logger's output, in the CRI log format, where the sandbox and container configs put it.
    let status = runtime.container_status(&logger).await.unwrap();
    assert_eq!(status.state, api::ContainerState::ContainerRunning as i32);
    assert_eq!(
        status.log_path,
        node.log_dir("web")
            .join("logger/0.log")
            .display()
            .to_string()
    );
    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&status.log_path).unwrap_or_default();
        lines = cri_log::parse_lines(&text).unwrap();
        if lines.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen: Vec<_> = lines
        .iter()
        .map(|l| (l.stream, l.message.as_str()))
        .collect();
    seen.sort_by_key(|(_, m)| m.to_string());
    assert_eq!(
        seen,
        [(Stream::Stdout, "line-one"), (Stream::Stderr, "line-two")]
    );
    runtime.reopen_container_log(&logger).await.unwrap();

    // Stats for `kubectl top`.
    let stats = runtime.list_container_stats(None).await.unwrap();
    assert_eq!(stats.len(), 4, "one entry per running container");
    assert!(stats.iter().all(|s| s
        .memory
        .as_ref()
        .and_then(|m| m.working_set_bytes.as_ref())
        .is_some()));

    let listed = runtime.list_containers(None).await.unwrap();
    assert_eq!(listed.len(), 4);
    let in_web = runtime
        .list_containers(Some(api::ContainerFilter {
            pod_sandbox_id: web.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(in_web.len(), 3);

    // Tear down in kubelet's order; stop and remove are idempotent.
    let leases = node.path().join("cni-ipam").join(&node.cni.network_name);
    assert!(
        leases.join(web_ip.to_string()).exists(),
        "host-local holds a lease for {web_ip}"
    );
    for id in [&server, &sidecar, &logger, &fetcher] {
        runtime
            .stop_container(id, Duration::from_secs(2))
            .await
            .unwrap();
        let stopped = runtime.container_status(id).await.unwrap();
        assert_eq!(stopped.state, api::ContainerState::ContainerExited as i32);
    }
    for id in [&web, &client] {
        runtime.stop_pod_sandbox(id).await.unwrap();
        runtime.stop_pod_sandbox(id).await.unwrap();
        runtime.remove_pod_sandbox(id).await.unwrap();
        runtime.remove_pod_sandbox(id).await.unwrap();
    }
    runtime.remove_container(&server).await.unwrap();
    runtime
        .stop_container(&server, Duration::ZERO)
        .await
        .unwrap();
    assert!(runtime.list_pod_sandboxes(None).await.unwrap().is_empty());
    assert!(runtime.list_containers(None).await.unwrap().is_empty());
    let gone = runtime.container_status(&server).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");

    // What CNI DEL must have undone: leases, veths on the bridge, network namespaces, iptables rules.
    assert!(
        !leases.join(web_ip.to_string()).exists(),
        "lease for {web_ip} released"
    );
    assert!(
        !leases.join(client_ip.to_string()).exists(),
        "lease for {client_ip} released"
    );
    let ports = host("ip", &["-o", "link", "show", "master", &node.bridge]);
    assert!(
        ports.trim().is_empty(),
        "veths left on {}: {ports}",
        node.bridge
    );
    assert_eq!(
        host("ip", &["netns", "list"]),
        netns_before,
        "network namespaces left behind"
    );
    for table in ["filter", "nat"] {
        let rules = host("iptables-save", &["-t", table]);
        for ip in [web_ip, client_ip] {
            assert!(
                !rules.contains(&ip.to_string()),
                "iptables {table} still mentions {ip}:\n{rules}"
            );
        }
    }

    let socket = node.containerd.as_ref().unwrap().socket().to_owned();
    node.stop().await;
    assert!(
        clusterd_cri::CriRuntime::connect(&socket).await.is_err(),
        "containerd stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_with_a_cached_image_starts_quickly() {
    require_containerd!();
    let _serial = SERIAL.lock().await;
    let node = Node::start("cri-test1", "10.244.251.0/24").await;
    let runtime = node.runtime();

    // A second ensure finds containerd answering: it neither restarts it nor stops it on drop.
    let again = clusterd_cri::Containerd::ensure(&node.config)
        .await
        .unwrap();
    assert_eq!(again.pid(), None);
    drop(again);
    runtime.version().await.unwrap();
    let mut timings = Vec::new();
    for round in 0..10 {
        let name = format!("bench-{round}");
        let config = sandbox_config(&name, &node.log_dir(&name));
        let started = Instant::now();
        let sandbox = runtime.run_pod_sandbox(config.clone()).await.unwrap();
        let container = run_container(runtime, &sandbox, &config, "main", &["sleep", "3600"]).await;
        timings.push(started.elapsed());
        let status = runtime.container_status(&container).await.unwrap();
        assert_eq!(status.state, api::ContainerState::ContainerRunning as i32);
        runtime.stop_pod_sandbox(&sandbox).await.unwrap();
        runtime.remove_pod_sandbox(&sandbox).await.unwrap();
    }
    timings.sort();
    let median = (timings[4] + timings[5]) / 2;
    eprintln!(
        "sandbox + container start, cached image, 10 runs: median {median:?}, min {:?}, max {:?}",
        timings[0], timings[9]
    );
    assert!(
        median < Duration::from_secs(5),
        "median {median:?} misses the 5 s pod startup SLO"
    );
    node.stop().await;
}
