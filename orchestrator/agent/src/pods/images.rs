//! Image pulls per `imagePullPolicy`, with `imagePullSecrets` credentials.
//!
//! `Always` still starts from a local image when the pull fails and the runtime has the image,
//! so clusters with loaded images work offline (the pull error is logged).

use clusterd_cri::{api, Runtime};
use k8s_openapi::api::core::v1::{Container, Pod};

use super::env::Objects;

/// Why an image is not available: the container's waiting reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageProblem {
    /// `ErrImagePull` or `ErrImageNeverPull`.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
}

/// The pull policy in effect: the spec's, or Always for `:latest`/untagged images.
pub fn pull_policy(container: &Container) -> String {
    if let Some(policy) = container
        .image_pull_policy
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        return policy.to_owned();
    }
    let image = container.image.as_deref().unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or(image);
    let tag = last.split_once(':').map(|(_, t)| t);
    if image.contains('@') || tag.is_some_and(|t| t != "latest") {
        "IfNotPresent".into()
    } else {
        "Always".into()
    }
}

/// The registry host of an image reference (`docker.io` when it names none).
fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// Credentials for `image` from the pod's `imagePullSecrets` (kubernetes.io/dockerconfigjson).
pub async fn pull_auth(objects: &mut Objects, pod: &Pod, image: &str) -> Option<api::AuthConfig> {
    let registry = registry_of(image);
    for reference in pod
        .spec
        .iter()
        .flat_map(|s| s.image_pull_secrets.iter().flatten())
    {
        let Ok(Some(entries)) = objects.secret(&reference.name).await else {
            continue;
        };
        let Some(json) = entries
            .get(".dockerconfigjson")
            .or_else(|| entries.get(".dockercfg"))
        else {
            continue;
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
            continue;
        };
        let auths = value.get("auths").unwrap_or(&value);
        for (server, entry) in auths.as_object().into_iter().flatten() {
            let host = server
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let host = host.split('/').next().unwrap_or(host);
            let matches =
                host == registry || (registry == "docker.io" && host == "index.docker.io");
            if matches {
                let text = |k: &str| {
                    entry
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                return Some(api::AuthConfig {
                    username: text("username"),
                    password: text("password"),
                    auth: text("auth"),
                    server_address: server.clone(),
                    ..Default::default()
                });
            }
        }
    }
    None
}

/// Makes `image` available per `policy`; returns the image's id and whether it was pulled.
pub async fn ensure_image<R: Runtime>(
    runtime: &R,
    image: &str,
    policy: &str,
    auth: Option<api::AuthConfig>,
) -> Result<(String, bool), ImageProblem> {
    let local = runtime.image_status(image).await.ok().flatten();
    match policy {
        "Never" => local.map(|i| (i.id, false)).ok_or_else(|| ImageProblem {
            reason: "ErrImageNeverPull",
            message: format!(
                "Container image \"{image}\" is not present with pull policy of Never"
            ),
        }),
        "IfNotPresent" if local.is_some() => Ok((local.map(|i| i.id).unwrap_or_default(), false)),
        _ => match runtime.pull_image(image, auth).await {
            Ok(id) => Ok((id, true)),
            Err(error) => match local {
                Some(found) if policy == "Always" => {
                    tracing::info!(%image, %error, "pull failed; using the image the runtime already has");
                    Ok((found.id, false))
                }
                _ => Err(ImageProblem {
                    reason: "ErrImagePull",
                    message: format!("failed to pull image \"{image}\": {error}"),
                }),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clusterd_cri::FakeRuntime;

    fn container(image: &str, policy: Option<&str>) -> Container {
        Container {
            name: "c".into(),
            image: Some(image.into()),
            image_pull_policy: policy.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn latest_and_untagged_images_default_to_always() {
        assert_eq!(pull_policy(&container("nginx", None)), "Always");
        assert_eq!(pull_policy(&container("nginx:latest", None)), "Always");
        assert_eq!(
            pull_policy(&container("localhost:5000/nginx", None)),
            "Always"
        );
        assert_eq!(
            pull_policy(&container("localhost:5000/nginx:1.25", None)),
            "IfNotPresent"
        );
        assert_eq!(
            pull_policy(&container("nginx:1.25", Some("Never"))),
            "Never"
        );
        assert_eq!(registry_of("localhost:5000/a/b:1"), "localhost:5000");
        assert_eq!(registry_of("library/nginx"), "docker.io");
    }

    #[tokio::test]
    async fn always_falls_back_to_the_local_image_when_the_pull_fails() {
        let runtime = FakeRuntime::new();
        runtime.add_image("local/app:latest");
        runtime.fail_next("PullImage", tonic::Code::Unavailable);
        let (id, pulled) = ensure_image(&runtime, "local/app:latest", "Always", None)
            .await
            .unwrap();
        assert!(!pulled, "the local image was used");
        assert!(id.starts_with("sha256:"));
        runtime.fail_next("PullImage", tonic::Code::Unavailable);
        let problem = ensure_image(&runtime, "local/missing:latest", "Always", None)
            .await
            .unwrap_err();
        assert_eq!(problem.reason, "ErrImagePull");
        let never = ensure_image(&runtime, "local/missing:1", "Never", None)
            .await
            .unwrap_err();
        assert_eq!(never.reason, "ErrImageNeverPull");
    }
}
