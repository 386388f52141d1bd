//! A local cluster started for real: node containers on Docker running the clusterd this
//! workspace built, its API server answering on a host port, the `local-<name>` context used by
//! the real kubectl, an agent joining with a bootstrap token and becoming Ready, nodes keeping
//! their addresses across a restart, images loaded
//! into the nodes' containerd, logs exported, and delete removing the containers and the context.
//!
//! Needs Docker (scripts/setup-docker), the node image (built on first use) and
//! `cargo build -p clusterd`. The server node's own Node needs clusterd server's in-process
//! agent (`--node-name`); until clusterd has it, the wait covers the agents' Nodes only.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use clusterctl_bundle::Clusterd;
use clusterctl_provider_local::image_load::load_images;
use clusterctl_provider_local::steps::{delete_steps, provision_steps, start_steps};
use clusterctl_provider_local::{export_logs::export_logs, LocalCluster};
use clusterctl_steps::{Ctx, NullReporter, Runner};

fn kubectl(kubeconfig: &Path, context: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--context", context])
        .args(args)
        .output()
        .expect("run kubectl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn clusterd() -> Clusterd {
    Clusterd::locate()
        .unwrap_or_else(|error| panic!("{error}\n(build it first: cargo build -p clusterd)"))
}

/// Whether `clusterd <args> --help` mentions `needle` (what this clusterd can do).
fn clusterd_offers(clusterd: &Clusterd, args: &[&str], needle: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clusterd");
    clusterd.extract_to(&path).unwrap();
    Command::new(&path)
        .args(args)
        .arg("--help")
        .output()
        .is_ok_and(|out| {
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains(needle)
        })
}

#[tokio::test]
async fn server_answers_and_real_kubectl_uses_the_merged_context_until_delete() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let clusterd = Arc::new(clusterd());
    let name = support::unique_name("start");
    let _guard = support::CleanupGuard::new(&name);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let mut cluster = LocalCluster::new(docker.clone(), &name).unwrap();
    cluster.image = support::node_image(docker.as_ref()).await;
    cluster.wait = Duration::from_secs(90);

    let ctx = Ctx::new(Arc::new(NullReporter));
    Runner::new(provision_steps(&cluster, clusterd.clone()))
        .run(&ctx)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    Runner::new(start_steps(&cluster, Some(kubeconfig.clone())))
        .run(&ctx)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    eprintln!("server ready in {:.1}s", started.elapsed().as_secs_f64());

    let context = format!("local-{name}");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        text.contains(&format!("current-context: {context}")),
        "{text}"
    );
    assert!(text.contains("server: https://127.0.0.1:"), "{text}");
    let (ok, namespaces) = kubectl(&kubeconfig, &context, &["get", "namespaces"]);
    assert!(ok, "{namespaces}");
    for namespace in ["default", "kube-system", "kube-node-lease"] {
        assert!(namespaces.contains(namespace), "{namespaces}");
    }

    // A re-run resumes: the server is not started twice.
    let again = Runner::new(start_steps(&cluster, Some(kubeconfig.clone())))
        .run(&ctx)
        .await
        .unwrap();
    assert_eq!(
        again.skipped(),
        [
            format!("Starting clusterd server on {name}-server-0"),
            "Recording the cluster config in /etc/clusterctl/cluster.yaml on the servers"
                .to_owned()
        ]
    );

    Runner::new(delete_steps(
        docker.clone(),
        &name,
        Some(kubeconfig.clone()),
    ))
    .run(&ctx)
    .await
    .unwrap();
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(!text.contains(&context), "{text}");
    assert!(
        clusterctl_provider_local::cluster::list_nodes(docker.as_ref(), &name)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_agent_joins_is_ready_again_after_a_restart_takes_images_and_exports_logs() {
    let Some(docker) = support::docker().await else {
        return;
    };
    let Some(busybox) = support::host_busybox() else {
        return;
    };
    let clusterd = Arc::new(clusterd());
    if !clusterd_offers(&clusterd, &["token"], "create") {
        eprintln!("SKIPPED: this clusterd has no `token create` yet, so agents cannot join");
        return;
    }
    let name = support::unique_name("join");
    let mut guard = support::CleanupGuard::new(&name);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let mut cluster = LocalCluster::new(docker.clone(), &name).unwrap();
    cluster.agents = 1;
    cluster.image = support::node_image(docker.as_ref()).await;
    cluster.wait = Duration::from_secs(90);

    let ctx = Ctx::new(Arc::new(NullReporter));
    Runner::new(provision_steps(&cluster, clusterd.clone()))
        .run(&ctx)
        .await
        .unwrap();
    Runner::new(start_steps(&cluster, Some(kubeconfig.clone())))
        .run(&ctx)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let context = format!("local-{name}");
    let agent = format!("{name}-agent-0");
    // The Node appears once the agent has joined; then it turns Ready.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let jsonpath = r#"-o=jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
    let (ready, text) = loop {
        let (ok, text) = kubectl(&kubeconfig, &context, &["get", "node", &agent, jsonpath]);
        if (ok && text.trim() == "True") || std::time::Instant::now() > deadline {
            break (ok && text.trim() == "True", text);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if !ready {
        let logs = Command::new("docker")
            .args(["logs", "--tail", "30", &agent])
            .output()
            .unwrap();
        panic!(
            "{text}\n{agent} log:\n{}{}",
            String::from_utf8_lossy(&logs.stdout),
            String::from_utf8_lossy(&logs.stderr)
        );
    }
    let (_, nodes) = kubectl(&kubeconfig, &context, &["get", "nodes", "-o", "wide"]);
    eprintln!("{nodes}");

    // Nodes keep their addresses across a restart, even when another container took an address
    // on the network meanwhile, so the agent reconnects (a daemon restart does the same).
    let server = format!("{name}-server-0");
    let address = |node: &str| {
        docker_cli(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            node,
        ])
    };
    let before = (address(&server), address(&agent));
    docker_cli(&["stop", "-t", "2", &server, &agent]);
    let squatter = format!("{name}-squatter");
    guard.extra_containers.push(squatter.clone());
    docker_cli(&[
        "run",
        "-d",
        "--rm",
        "--name",
        &squatter,
        "--network",
        &format!("clusterctl-{name}"),
        "--entrypoint",
        "sleep",
        &cluster.image.reference,
        "120",
    ]);
    docker_cli(&["start", &agent, &server]);
    assert_eq!((address(&server), address(&agent)), before);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (ok, ready) = kubectl(&kubeconfig, &context, &["get", "node", &agent, jsonpath]);
    assert!(ok && ready.trim() == "True", "{ready}");
    let restarts = docker_cli(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.RestartCount}}",
        &agent,
    ]);
    assert_eq!(
        restarts, "running 0",
        "the agent keeps running after the restart"
    );
    docker_cli(&["rm", "-f", &squatter]);

    // Images from this machine's Docker land in every node's containerd, once.
    let image = format!("clusterctl-test/busybox:{name}");
    guard.extra_images.push(image.clone());
    support::busybox_image(docker.as_ref(), &busybox, &image).await;
    let loaded = load_images(
        docker.clone(),
        &name,
        std::slice::from_ref(&image),
        &[],
        &|line| eprintln!("{line}"),
    )
    .await
    .unwrap();
    assert_eq!(
        loaded.iter().filter(|l| l.imported).count(),
        2,
        "{loaded:?}"
    );
    for node in [format!("{name}-server-0"), agent.clone()] {
        let out = Command::new("docker")
            .args(["exec", &node, "ctr", "-n", "k8s.io", "images", "ls", "-q"])
            .output()
            .unwrap();
        let refs = String::from_utf8_lossy(&out.stdout);
        assert!(
            refs.contains(&format!("docker.io/{image}")),
            "{node}: {refs}"
        );
    }
    let again = load_images(
        docker.clone(),
        &name,
        std::slice::from_ref(&image),
        &[],
        &|_| {},
    )
    .await
    .unwrap();
    assert!(again.iter().all(|l| !l.imported), "{again:?}");

    let logs = tempfile::tempdir().unwrap();
    export_logs(docker.clone(), &name, logs.path())
        .await
        .unwrap();
    let agent_log = std::fs::read_to_string(logs.path().join(&agent).join("clusterd.log")).unwrap();
    assert!(agent_log.contains("starting clusterd agent"), "{agent_log}");
    assert!(logs.path().join(&agent).join("containerd.log").is_file());

    Runner::new(delete_steps(
        docker.clone(),
        &name,
        Some(kubeconfig.clone()),
    ))
    .run(&ctx)
    .await
    .unwrap();
}
