//! End to end: the clusterctl binary creates a local cluster (1 server + 1 agent) on this
//! machine's Docker with the clusterd it carries, real kubectl sees the agent Ready through the
//! merged `local-<name>` context, `get`, `image load`, `export logs` and a resuming re-run work,
//! and `delete` removes the containers, volumes, network and the context.
//! Run by `scripts/test e2e`; ignored by plain `cargo test`.

use std::path::Path;
use std::process::{Command, Output};

/// Removes whatever the test cluster left in Docker, even when an assertion failed.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label=clusterctl.io/cluster={}", self.0);
        for (list, remove) in [
            (vec!["ps", "-aq"], vec!["rm", "-fv"]),
            (vec!["volume", "ls", "-q"], vec!["volume", "rm", "-f"]),
            (vec!["network", "ls", "-q"], vec!["network", "rm"]),
        ] {
            let found = docker(&[list, vec!["--filter", &filter]].concat());
            for id in found.split_whitespace() {
                docker(&[remove.clone(), vec![id]].concat());
            }
        }
        docker(&["rmi", "-f", &format!("clusterctl-e2e/busybox:{}", self.0)]);
    }
}

fn docker(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

fn clusterctl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterctl"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("CLUSTERCTL_PROVIDER")
        .output()
        .expect("run clusterctl")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// A busybox image made from the host's static busybox, in this machine's Docker.
fn busybox_image(reference: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", dir.path().join("bin/sh")).unwrap();
    let script = format!(
        "tar -C {} -c . | docker import -c 'CMD [\"/bin/sh\"]' - {reference}",
        dir.path().display()
    );
    let status = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(status.success(), "docker import {reference}");
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn local_cluster_is_created_used_by_kubectl_and_deleted() {
    let name = format!("e2e{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let context = format!("local-{name}");

    let started = std::time::Instant::now();
    let created = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "--provider",
            "local",
            "--name",
            &name,
            "--workers",
            "1",
            "--wait",
            "120s",
        ],
    ));
    eprintln!(
        "create took {:.1}s\n{created}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        created.contains(&format!(
            "cluster {name} is ready; kubectl now uses context {context}"
        )),
        "{created}"
    );

    let kubectl = |args: &[&str]| {
        ok(Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap())
    };
    let nodes = kubectl(&["get", "nodes"]);
    let agent = format!("{name}-agent-0");
    assert!(
        nodes
            .lines()
            .any(|line| line.starts_with(&agent) && line.contains(" Ready ")),
        "{nodes}"
    );
    assert!(kubectl(&["get", "namespaces"]).contains("kube-system"));

    let clusters = ok(clusterctl(
        &kubeconfig,
        &["get", "clusters", "--provider", "local", "-o", "json"],
    ));
    assert!(
        clusters.contains(&format!("\"name\": \"{name}\"")),
        "{clusters}"
    );
    let listed = ok(clusterctl(
        &kubeconfig,
        &["get", "nodes", "--provider", "local", "--name", &name],
    ));
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&agent) && line.contains("Ready")),
        "{listed}"
    );

    let image = format!("clusterctl-e2e/busybox:{name}");
    busybox_image(&image);
    let loaded = ok(clusterctl(
        &kubeconfig,
        &["image", "load", &image, "--name", &name],
    ));
    assert!(loaded.contains("2 imports, 0 already present"), "{loaded}");
    let again = ok(clusterctl(
        &kubeconfig,
        &["image", "load", &image, "--name", &name],
    ));
    assert!(again.contains("0 imports, 2 already present"), "{again}");

    let logs = tempfile::tempdir().unwrap();
    ok(clusterctl(
        &kubeconfig,
        &[
            "export",
            "logs",
            &logs.path().display().to_string(),
            "--name",
            &name,
        ],
    ));
    let agent_log = std::fs::read_to_string(logs.path().join(&agent).join("clusterd.log")).unwrap();
    assert!(agent_log.contains("starting clusterd agent"), "{agent_log}");

    // A re-run resumes: nothing is started twice.
    let rerun = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "--provider",
            "local",
            "--name",
            &name,
            "--workers",
            "1",
        ],
    ));
    assert!(
        rerun.contains(&format!(
            "Starting clusterd server on {name}-server-0 (already done)"
        )),
        "{rerun}"
    );
    assert!(
        rerun.contains("Joining 1 agent to the cluster (already done)"),
        "{rerun}"
    );

    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &name],
    ));
    let filter = format!("label=clusterctl.io/cluster={name}");
    assert!(docker(&["ps", "-aq", "--filter", &filter])
        .trim()
        .is_empty());
    assert!(docker(&["network", "ls", "-q", "--filter", &filter])
        .trim()
        .is_empty());
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(!config.contains(&context), "{config}");
}
