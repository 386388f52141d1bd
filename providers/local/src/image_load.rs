//! `clusterctl image load`: copies images from the host's Docker into the containerd of every
//! node (`docker save` streamed into `ctr -n k8s.io images import -`), so pods can run images
//! that no registry serves. Each imported image is labelled with its Docker image id; a node that
//! has that image with the same id is skipped, and a rebuilt image is imported again.

use std::sync::Arc;

use clusterctl_provider_api::RunError;

use crate::cluster::list_nodes;
use crate::docker::{ContainerState, DockerApi};
use clusterctl_provider_api::Node as _;

use crate::docker_node::DockerNode;
use crate::{Error, Result};

/// The containerd namespace clusterd's pods live in.
pub const NAMESPACE: &str = "k8s.io";
/// The containerd image label holding the Docker image id an image was loaded from.
pub const IMAGE_ID_LABEL: &str = "clusterctl.io/image-id";

/// What happened to one image on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The node container.
    pub node: String,
    /// The image as the user named it.
    pub image: String,
    /// Whether it was imported (false: the node had it already).
    pub imported: bool,
}

/// The fully qualified reference containerd knows an image by: `nginx` is
/// `docker.io/library/nginx:latest`, `me/app:1` is `docker.io/me/app:1`.
pub fn normalize_reference(image: &str) -> String {
    let (name, suffix) = match image.split_once('@') {
        Some((name, digest)) => (name.to_owned(), format!("@{digest}")),
        None => {
            let last = image.rsplit('/').next().unwrap_or(image);
            if last.contains(':') {
                let at = image.len() - last.len() + last.find(':').unwrap_or(0);
                (image[..at].to_owned(), image[at..].to_owned())
            } else {
                (image.to_owned(), ":latest".to_owned())
            }
        }
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let qualified = if has_domain {
        name
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{qualified}{suffix}")
}

/// The Docker name to save: the image with `:latest` when it names no tag or digest (so
/// `docker save` exports one image, not every tag of the repository).
fn docker_reference(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

async fn ctr(node: &DockerNode, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ctr", "-n", NAMESPACE];
    argv.extend_from_slice(args);
    Ok(node.run(&argv).await?.stdout)
}

/// Whether `node` has `reference` imported from the Docker image `id`.
async fn has_image(node: &DockerNode, reference: &str, id: &str) -> Result<bool> {
    let filter = format!("name=={reference}");
    let listing = ctr(node, &["images", "ls", &filter]).await?;
    let label = format!("{IMAGE_ID_LABEL}={id}");
    Ok(listing
        .lines()
        .any(|line| line.starts_with(reference) && line.contains(&label)))
}

/// Loads `images` from the host's Docker into the running nodes of `cluster` (only those in
/// `only_nodes` when it is not empty), reporting each node and image through `progress`.
pub async fn load_images(
    docker: Arc<dyn DockerApi>,
    cluster: &str,
    images: &[String],
    only_nodes: &[String],
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<Vec<Loaded>> {
    let nodes: Vec<String> = list_nodes(docker.as_ref(), cluster)
        .await?
        .into_iter()
        .filter(|node| only_nodes.is_empty() || only_nodes.contains(&node.name))
        .filter(|node| node.state == ContainerState::Running)
        .map(|node| node.name)
        .collect();
    if nodes.is_empty() {
        return Err(Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            detail: if only_nodes.is_empty() {
                "has no running nodes".to_owned()
            } else {
                format!("has no running node named {}", only_nodes.join(", "))
            },
        });
    }
    let mut done = Vec::new();
    for image in images {
        let source = docker_reference(image);
        let id = docker
            .inspect_image(&source)
            .await?
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "image {image} is not in this machine's Docker; `docker build` or `docker pull` it first (`docker images` lists what is there)"
                ))
            })?
            .id;
        let reference = normalize_reference(image);
        for name in &nodes {
            let node = DockerNode::new(docker.clone(), name.clone());
            if has_image(&node, &reference, &id).await? {
                progress(format!("{name}: {image} already present"));
                done.push(Loaded {
                    node: name.clone(),
                    image: image.clone(),
                    imported: false,
                });
                continue;
            }
            progress(format!("{name}: importing {image} ({reference})"));
            let archive = docker.save_image(&source).await?;
            let argv: Vec<String> = ["ctr", "-n", NAMESPACE, "images", "import", "-"]
                .map(str::to_owned)
                .to_vec();
            let output = docker.exec_with_input(name, &argv, archive).await?;
            if !output.success() {
                return Err(RunError {
                    host: name.clone(),
                    command: argv,
                    output: output.combined(),
                    source: None,
                }
                .into());
            }
            let label = format!("{IMAGE_ID_LABEL}={id}");
            ctr(&node, &["images", "label", &reference, &label]).await?;
            done.push(Loaded {
                node: name.clone(),
                image: image.clone(),
                imported: true,
            });
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{Call, ExecOutput, FakeDocker, Labels};
    use crate::names::{self, Role};

    #[test]
    fn references_are_qualified_like_containerd_names_them() {
        assert_eq!(
            normalize_reference("nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            normalize_reference("nginx:1.27"),
            "docker.io/library/nginx:1.27"
        );
        assert_eq!(normalize_reference("me/app:1"), "docker.io/me/app:1");
        assert_eq!(
            normalize_reference("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(
            normalize_reference("registry.example.com/team/app:v2"),
            "registry.example.com/team/app:v2"
        );
        assert_eq!(docker_reference("busybox"), "busybox:latest");
        assert_eq!(
            docker_reference("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
    }

    #[tokio::test]
    async fn images_are_imported_into_nodes_that_lack_them_and_skipped_elsewhere() {
        let docker = FakeDocker::new();
        for (role, index) in [(Role::Server, 0), (Role::Agent, 0)] {
            docker.add_container(
                &names::node("dev", role, index),
                names::node_labels("dev", role),
                ContainerState::Running,
            );
        }
        docker.add_image("app:1", Labels::new());
        let id = docker.inspect_image("app:1").await.unwrap().unwrap().id;
        let listing = format!(
            "REF TYPE DIGEST SIZE PLATFORMS LABELS\ndocker.io/library/app:1 application/vnd.oci.image.manifest.v1+json sha256:aa 1.0 MiB linux/amd64 {IMAGE_ID_LABEL}={id}\n"
        );
        docker.on_exec(move |node, argv| ExecOutput {
            exit_code: 0,
            stdout: if node == "dev-server-0" && argv.get(4).map(String::as_str) == Some("ls") {
                listing.clone()
            } else {
                String::new()
            },
            stderr: String::new(),
        });
        let lines = std::sync::Mutex::new(Vec::new());
        let loaded = load_images(
            Arc::new(docker.clone()),
            "dev",
            &["app:1".to_owned()],
            &[],
            &|line| lines.lock().unwrap().push(line),
        )
        .await
        .unwrap();
        assert_eq!(
            loaded
                .iter()
                .map(|l| (l.node.as_str(), l.imported))
                .collect::<Vec<_>>(),
            [("dev-server-0", false), ("dev-agent-0", true)]
        );
        let imports: Vec<Call> = docker
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Call::ExecWithInput(..)))
            .collect();
        assert_eq!(imports.len(), 1);
        assert!(
            matches!(&imports[0], Call::ExecWithInput(node, argv, len) if node == "dev-agent-0" && argv.join(" ") == "ctr -n k8s.io images import -" && *len > 0)
        );
        assert!(docker.calls().contains(&Call::Exec(
            "dev-agent-0".into(),
            [
                "ctr",
                "-n",
                "k8s.io",
                "images",
                "label",
                "docker.io/library/app:1"
            ]
            .map(String::from)
            .into_iter()
            .chain([format!("{IMAGE_ID_LABEL}={id}")])
            .collect()
        )));
    }

    #[tokio::test]
    async fn an_image_missing_from_docker_says_how_to_get_it() {
        let docker = FakeDocker::new();
        docker.add_container(
            "dev-server-0",
            names::node_labels("dev", Role::Server),
            ContainerState::Running,
        );
        let error = load_images(
            Arc::new(docker),
            "dev",
            &["nope:1".to_owned()],
            &[],
            &|_| {},
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("image nope:1 is not in this machine's Docker"),
            "{error}"
        );
    }
}
