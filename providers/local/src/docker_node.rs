//! A node container as a [`Node`]: commands through `docker exec`, files through the archive API.

use std::sync::Arc;

use clusterctl_provider_api::node::Output;
use clusterctl_provider_api::{Node, RunError};

use crate::docker::DockerApi;

/// One node container, reached through the Docker API.
#[derive(Debug, Clone)]
pub struct DockerNode {
    docker: Arc<dyn DockerApi>,
    name: String,
}

/// The exit status of a command, as a run error's source.
#[derive(Debug, thiserror::Error)]
#[error("exit code {0}")]
struct ExitCode(i64);

impl DockerNode {
    /// The container `name` on `docker`.
    pub fn new(docker: Arc<dyn DockerApi>, name: impl Into<String>) -> Self {
        Self {
            docker,
            name: name.into(),
        }
    }

    /// The Docker daemon the container runs on.
    pub fn docker(&self) -> &dyn DockerApi {
        self.docker.as_ref()
    }

    /// Whether the container exists and runs (under dry-run a node may not exist yet).
    pub async fn is_running(&self) -> crate::Result<bool> {
        Ok(self
            .docker
            .inspect_container(&self.name)
            .await?
            .is_some_and(|found| found.state == crate::docker::ContainerState::Running))
    }

    /// Runs `argv` and returns its output whatever the exit code, with the exit code.
    pub async fn run_unchecked(&self, argv: &[&str]) -> Result<(i64, Output), RunError> {
        let argv: Vec<String> = argv.iter().map(|arg| (*arg).to_owned()).collect();
        let output = self
            .docker
            .exec(&self.name, &argv)
            .await
            .map_err(|error| RunError {
                host: self.name.clone(),
                command: argv.clone(),
                output: String::new(),
                source: Some(Box::new(error)),
            })?;
        Ok((
            output.exit_code,
            Output {
                stdout: output.stdout,
                stderr: output.stderr,
            },
        ))
    }

    fn failed(
        &self,
        argv: &[&str],
        output: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> RunError {
        RunError {
            host: self.name.clone(),
            command: argv.iter().map(|arg| (*arg).to_owned()).collect(),
            output,
            source,
        }
    }
}

/// A tar archive holding one regular file `name` with `mode`.
pub(crate) fn single_file_tar(name: &str, bytes: &[u8], mode: u32) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::with_capacity(bytes.len() + 1024));
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, bytes)?;
    builder.into_inner()
}

impl Node for DockerNode {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, argv: &[&str]) -> Result<Output, RunError> {
        let (code, output) = self.run_unchecked(argv).await?;
        if code != 0 {
            let mut text = output.stdout.trim_end().to_owned();
            if !output.stderr.trim().is_empty() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(output.stderr.trim_end());
            }
            return Err(self.failed(argv, text, Some(Box::new(ExitCode(code)))));
        }
        Ok(output)
    }

    /// Uploads next to `path` under a temporary name, then renames it into place, so a running
    /// binary is replaced rather than overwritten (which would fail with "text file busy").
    async fn copy(&self, bytes: &[u8], path: &str, mode: u32) -> Result<(), RunError> {
        let (dir, file) = match path.rsplit_once('/') {
            Some(("", file)) => ("/", file),
            Some((dir, file)) => (dir, file),
            None => ("/", path),
        };
        let temporary = format!(".{file}.clusterctl-upload");
        let upload = ["upload", path];
        let tar = single_file_tar(&temporary, bytes, mode)
            .map_err(|error| self.failed(&upload, String::new(), Some(Box::new(error))))?;
        self.run(&["mkdir", "-p", dir]).await?;
        self.docker
            .upload(&self.name, dir, tar)
            .await
            .map_err(|error| self.failed(&upload, String::new(), Some(Box::new(error))))?;
        let staged = format!("{}/{temporary}", dir.trim_end_matches('/'));
        self.run(&["mv", "-f", &staged, path]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{Call, ContainerState, ExecOutput, FakeDocker, Labels};

    fn node() -> (FakeDocker, DockerNode) {
        let docker = FakeDocker::new();
        docker.add_container("dev-server-0", Labels::new(), ContainerState::Running);
        let node = DockerNode::new(Arc::new(docker.clone()), "dev-server-0");
        (docker, node)
    }

    #[tokio::test]
    async fn a_failing_command_is_a_run_error_with_its_output() {
        let (docker, node) = node();
        docker.on_exec(|_, _| ExecOutput {
            exit_code: 2,
            stdout: String::new(),
            stderr: "ctr: not found\n".into(),
        });
        let error = node.run(&["ctr", "version"]).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "command failed on dev-server-0: ctr version\nctr: not found"
        );
    }

    #[tokio::test]
    async fn copy_uploads_beside_the_target_then_renames_it_into_place() {
        let (docker, node) = node();
        node.copy(b"binary", "/usr/local/bin/clusterd", 0o755)
            .await
            .unwrap();
        let calls = docker.calls();
        assert!(calls.contains(&Call::Upload(
            "dev-server-0".into(),
            "/usr/local/bin".into(),
            vec!["/usr/local/bin/.clusterd.clusterctl-upload".into()],
        )));
        assert_eq!(
            calls.last(),
            Some(&Call::Exec(
                "dev-server-0".into(),
                vec![
                    "mv".into(),
                    "-f".into(),
                    "/usr/local/bin/.clusterd.clusterctl-upload".into(),
                    "/usr/local/bin/clusterd".into()
                ],
            ))
        );
    }
}
