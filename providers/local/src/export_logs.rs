//! `clusterctl export logs DIR`: every node's clusterd log (the container's output), containerd's
//! log, the pod logs under `/var/log/pods` and containerd's container and image lists, one
//! directory per node.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::list_nodes;
use crate::docker::{ContainerState, DockerApi};
use clusterctl_provider_api::Node as _;

use crate::docker_node::DockerNode;
use crate::{Error, Result};

/// Where pod logs live inside a node.
pub const POD_LOGS: &str = "/var/log/pods";

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
    }
    std::fs::write(path, text).map_err(Error::io("write log", path))
}

/// A command's output, or its failure as text (a log export keeps going).
async fn capture(node: &DockerNode, argv: &[&str]) -> String {
    match node.run(argv).await {
        Ok(output) => output.stdout,
        Err(error) => format!("{error}\n"),
    }
}

/// Exports the logs of every node of `cluster` below `dir`; returns the files written.
pub async fn export_logs(
    docker: Arc<dyn DockerApi>,
    cluster: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let nodes = list_nodes(docker.as_ref(), cluster).await?;
    if nodes.is_empty() {
        return Err(Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            detail: "does not exist".to_owned(),
        });
    }
    let mut written = Vec::new();
    for node in nodes {
        let base = dir.join(&node.name);
        let clusterd = crate::steps::server::strip_ansi(&docker.logs(&node.name, None).await?);
        let path = base.join("clusterd.log");
        write(&path, &clusterd)?;
        written.push(path);
        if node.state != ContainerState::Running {
            let path = base.join("NOT-RUNNING");
            write(
                &path,
                &format!("container {} is {}; only its clusterd log (the container output) was exported\n", node.name, node.state),
            )?;
            written.push(path);
            continue;
        }
        let exec = DockerNode::new(docker.clone(), node.name.clone());
        let captured = [
            (
                "containerd.log",
                capture(&exec, &["cat", "/var/log/containerd.log"]).await,
            ),
            (
                "containers.txt",
                capture(&exec, &["ctr", "-n", "k8s.io", "containers", "ls"]).await,
            ),
            (
                "images.txt",
                capture(&exec, &["ctr", "-n", "k8s.io", "images", "ls"]).await,
            ),
        ];
        for (file, text) in captured {
            let path = base.join(file);
            write(&path, &text)?;
            written.push(path);
        }
        let (code, listing) = exec
            .run_unchecked(&["find", POD_LOGS, "-type", "f"])
            .await?;
        if code != 0 {
            continue;
        }
        for file in listing.stdout.lines().filter(|l| l.starts_with(POD_LOGS)) {
            let relative = file.trim_start_matches("/var/log/");
            if relative.split('/').any(|part| part == "..") {
                continue;
            }
            let path = base.join(relative);
            write(&path, &capture(&exec, &["cat", file]).await)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{ExecOutput, FakeDocker};
    use crate::names::{self, Role};

    #[tokio::test]
    async fn each_node_gets_its_clusterd_containerd_and_pod_logs() {
        let docker = FakeDocker::new();
        docker.add_container(
            "dev-server-0",
            names::node_labels("dev", Role::Server),
            ContainerState::Running,
        );
        docker.add_container(
            "dev-agent-0",
            names::node_labels("dev", Role::Agent),
            ContainerState::Exited,
        );
        docker.set_logs("dev-server-0", "clusterd server started\n");
        docker.set_logs("dev-agent-0", "agent crashed\n");
        docker.on_exec(|_, argv| {
            let line = argv.join(" ");
            let stdout = match line.as_str() {
                "cat /var/log/containerd.log" => "containerd up\n".to_owned(),
                "find /var/log/pods -type f" => {
                    "/var/log/pods/default_web_uid/web/0.log\n".to_owned()
                }
                "cat /var/log/pods/default_web_uid/web/0.log" => "GET / 200\n".to_owned(),
                _ => String::new(),
            };
            ExecOutput {
                exit_code: 0,
                stdout,
                stderr: String::new(),
            }
        });
        let dir = tempfile::tempdir().unwrap();
        export_logs(Arc::new(docker), "dev", dir.path())
            .await
            .unwrap();
        let read = |path: &str| std::fs::read_to_string(dir.path().join(path)).unwrap();
        assert_eq!(
            read("dev-server-0/clusterd.log"),
            "clusterd server started\n"
        );
        assert_eq!(read("dev-server-0/containerd.log"), "containerd up\n");
        assert_eq!(
            read("dev-server-0/pods/default_web_uid/web/0.log"),
            "GET / 200\n"
        );
        assert_eq!(read("dev-agent-0/clusterd.log"), "agent crashed\n");
        assert!(read("dev-agent-0/NOT-RUNNING").contains("is Exited"));
    }

    #[tokio::test]
    async fn an_unknown_cluster_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let error = export_logs(Arc::new(FakeDocker::new()), "nope", dir.path())
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("\"nope\" does not exist"),
            "{error}"
        );
    }
}
