//! Putting the bundled clusterd into a node: upload, verify by sha256 inside the node, run it.

use clusterctl_bundle::Clusterd;
use clusterctl_provider_api::Node;

use crate::docker_node::DockerNode;
use crate::{Error, Result};

/// Where clusterd lives inside a node.
pub const CLUSTERD_PATH: &str = "/usr/local/bin/clusterd";

/// What the node reports about its clusterd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledClusterd {
    /// The sha256 `sha256sum` computed inside the node.
    pub sha256: String,
    /// First line of `clusterd --version`.
    pub version: String,
    /// Whether this call uploaded it (false when the node already had these bytes).
    pub uploaded: bool,
}

/// The sha256 of the node's clusterd, or `None` when it has none.
pub async fn installed_digest(node: &DockerNode) -> Result<Option<String>> {
    let (code, output) = node.run_unchecked(&["sha256sum", CLUSTERD_PATH]).await?;
    if code != 0 {
        return Ok(None);
    }
    Ok(output.stdout.split_whitespace().next().map(str::to_owned))
}

/// Whether the node already runs exactly these clusterd bytes.
pub async fn is_installed(node: &DockerNode, clusterd: &Clusterd) -> Result<bool> {
    Ok(installed_digest(node).await?.as_deref() == Some(clusterd.sha256()))
}

/// Copies `clusterd` to [`CLUSTERD_PATH`] unless the node has the same bytes, checks the digest
/// inside the node with `sha256sum`, and runs `clusterd --version`.
pub async fn install(node: &DockerNode, clusterd: &Clusterd) -> Result<InstalledClusterd> {
    let mut uploaded = false;
    if !is_installed(node, clusterd).await? {
        node.copy(clusterd.bytes(), CLUSTERD_PATH, 0o755).await?;
        uploaded = true;
    }
    let actual = installed_digest(node).await?.unwrap_or_default();
    if actual != clusterd.sha256() {
        return Err(Error::DigestMismatch {
            node: node.name().to_owned(),
            expected: clusterd.sha256().to_owned(),
            actual,
        });
    }
    let output = node.run(&[CLUSTERD_PATH, "--version"]).await?;
    Ok(InstalledClusterd {
        sha256: actual,
        version: output
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        uploaded,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::docker::{Call, ContainerState, ExecOutput, FakeDocker, Labels};

    fn fake_clusterd(dir: &std::path::Path) -> Clusterd {
        let path = dir.join("clusterd");
        std::fs::write(&path, b"#!/bin/sh\necho clusterd 9.9.9\n").unwrap();
        Clusterd::from_file(&path).unwrap()
    }

    fn node(docker: &FakeDocker) -> DockerNode {
        docker.add_container("dev-agent-0", Labels::new(), ContainerState::Running);
        docker.on_exec(|_, argv| ExecOutput {
            exit_code: 0,
            stdout: if argv.last().map(String::as_str) == Some("--version") {
                "clusterd 9.9.9\n".into()
            } else {
                String::new()
            },
            stderr: String::new(),
        });
        DockerNode::new(Arc::new(docker.clone()), "dev-agent-0")
    }

    #[tokio::test]
    async fn install_uploads_verifies_and_reports_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let clusterd = fake_clusterd(dir.path());
        let docker = FakeDocker::new();
        let installed = install(&node(&docker), &clusterd).await.unwrap();
        assert!(installed.uploaded);
        assert_eq!(installed.sha256, clusterd.sha256());
        assert_eq!(installed.version, "clusterd 9.9.9");
        assert_eq!(
            docker.file("dev-agent-0", CLUSTERD_PATH).as_deref(),
            Some(clusterd.bytes())
        );
    }

    #[tokio::test]
    async fn a_node_with_the_same_bytes_is_not_uploaded_again() {
        let dir = tempfile::tempdir().unwrap();
        let clusterd = fake_clusterd(dir.path());
        let docker = FakeDocker::new();
        let node = node(&docker);
        install(&node, &clusterd).await.unwrap();
        let again = install(&node, &clusterd).await.unwrap();
        assert!(!again.uploaded);
        let uploads = docker
            .calls()
            .iter()
            .filter(|c| matches!(c, Call::Upload(..)))
            .count();
        assert_eq!(uploads, 1);
    }
}
