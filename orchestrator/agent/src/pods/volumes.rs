//! Pod volumes under `<data-dir>/pods/<uid>/volumes/<kind>/<name>`: emptyDir (tmpfs for
//! `medium: Memory`), configMap, secret, downwardAPI, projected (service-account tokens
//! included) and hostPath; and the mounts a container gets from its `volumeMounts`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clusterd_cri::api;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, ServiceAccount, Volume};
use kube::api::{Api, PostParams};
use serde_json::json;

use super::env::{field_value, render_map, resource_value, Objects};
use crate::{AgentConfig, Error, Result};

/// The name of the ConfigMap holding the cluster CA that `kube-api-access-*` volumes project.
const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";

/// One file of a keyed volume: path relative to the volume, contents, mode.
type VolumeFile = (String, Vec<u8>, u32);

/// Where each of a pod's volumes is on the host.
pub type VolumePaths = BTreeMap<String, PathBuf>;

fn pod_name(pod: &Pod) -> String {
    format!(
        "pod {}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Writes `files` into `dir`, each atomically (temp file then rename), and removes files a
/// previous render wrote that are no longer wanted.
pub fn write_files(dir: &Path, files: &[VolumeFile]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create volume directory", dir, e))?;
    let manifest = dir.join("..clusterd-files");
    let previous = std::fs::read_to_string(&manifest).unwrap_or_default();
    for (relative, contents, mode) in files {
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return Err(Error::invalid(
                format!("volume file {relative}"),
                "paths must be relative without '..'",
            ));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create volume directory", parent, e))?;
        }
        let partial = path.with_file_name(format!(
            "..{}.partial",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&partial, contents)
            .map_err(|e| Error::io("write volume file", &partial, e))?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(*mode))
            .map_err(|e| Error::io("set volume file mode", &partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| Error::io("write volume file", &path, e))?;
    }
    for stale in previous
        .lines()
        .filter(|l| !files.iter().any(|f| f.0 == *l))
    {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let names: String = files.iter().map(|f| format!("{}\n", f.0)).collect();
    std::fs::write(&manifest, names).map_err(|e| Error::io("write volume manifest", &manifest, e))
}

/// The files of a configMap/secret source: every key, or only `items`.
fn keyed_files(
    entries: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    mode: u32,
    what: &str,
) -> Result<Vec<VolumeFile>> {
    match items {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                let contents = entries
                    .get(&item.key)
                    .ok_or_else(|| Error::invalid(what, format!("has no key {}", item.key)))?;
                Ok((
                    item.path.clone(),
                    contents.clone(),
                    item.mode.map(|m| m as u32).unwrap_or(mode),
                ))
            })
            .collect(),
        _ => Ok(entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), mode))
            .collect()),
    }
}

/// Everything a volume render needs besides the volume.
pub struct VolumeContext<'a> {
    /// The API client (service-account tokens).
    pub client: &'a kube::Client,
    /// ConfigMap and Secret lookups in the pod's namespace.
    pub objects: &'a mut Objects,
    /// The agent's settings (CA, node facts).
    pub config: &'a AgentConfig,
    /// The pod's IP, for the downward API.
    pub pod_ip: &'a str,
    /// Node CPU count and memory, for resource fields without limits.
    pub node: (u64, u64),
}

impl std::fmt::Debug for VolumeContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeContext")
            .field("objects", &self.objects)
            .finish_non_exhaustive()
    }
}

impl VolumeContext<'_> {
    async fn config_map_files(
        &mut self,
        name: &str,
        items: Option<&Vec<KeyToPath>>,
        optional: bool,
        mode: u32,
    ) -> Result<Vec<VolumeFile>> {
        let what = format!("configmap {name}");
        match self.objects.config_map(name).await? {
            Some(entries) => keyed_files(&entries, items, mode, &what),
            None if name == ROOT_CA_CONFIG_MAP && self.config.cluster_ca.is_some() => {
                let entries = BTreeMap::from([(
                    "ca.crt".to_owned(),
                    self.config.cluster_ca.clone().unwrap_or_default(),
                )]);
                keyed_files(&entries, items, mode, &what)
            }
            None if optional => Ok(Vec::new()),
            None => Err(Error::invalid(what, "not found")),
        }
    }

    async fn secret_files(
        &mut self,
        name: &str,
        items: Option<&Vec<KeyToPath>>,
        optional: bool,
        mode: u32,
    ) -> Result<Vec<VolumeFile>> {
        let what = format!("secret {name}");
        match self.objects.secret(name).await? {
            Some(entries) => keyed_files(&entries, items, mode, &what),
            None if optional => Ok(Vec::new()),
            None => Err(Error::invalid(what, "not found")),
        }
    }

    fn downward_files(
        &self,
        pod: &Pod,
        items: &[k8s_openapi::api::core::v1::DownwardAPIVolumeFile],
        mode: u32,
    ) -> Result<Vec<VolumeFile>> {
        let host_ip = self.config.node_ip.to_string();
        items
            .iter()
            .map(|item| {
                let value = if let Some(f) = &item.field_ref {
                    match f.field_path.as_str() {
                        "metadata.labels" => render_map(pod.metadata.labels.as_ref()),
                        "metadata.annotations" => render_map(pod.metadata.annotations.as_ref()),
                        path => field_value(pod, path, self.pod_ip, &host_ip)?,
                    }
                } else if let Some(r) = &item.resource_field_ref {
                    let container = pod
                        .spec
                        .iter()
                        .flat_map(|s| s.containers.iter())
                        .find(|c| Some(c.name.as_str()) == r.container_name.as_deref())
                        .ok_or_else(|| {
                            Error::invalid(
                                format!("downwardAPI {}", item.path),
                                "resourceFieldRef names no container of the pod",
                            )
                        })?;
                    resource_value(
                        container,
                        &r.resource,
                        r.divisor.as_ref().map(|d| d.0.as_str()),
                        self.node.0,
                        self.node.1,
                    )?
                } else {
                    String::new()
                };
                Ok((
                    item.path.clone(),
                    value.into_bytes(),
                    item.mode.map(|m| m as u32).unwrap_or(mode),
                ))
            })
            .collect()
    }

    async fn token(
        &self,
        pod: &Pod,
        audience: Option<&str>,
        expiration: Option<i64>,
    ) -> Result<Vec<u8>> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let account = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".into());
        let mut spec = json!({
            "expirationSeconds": expiration.unwrap_or(3600),
            "boundObjectRef": { "apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "uid": pod.metadata.uid },
        });
        if let Some(audience) = audience.filter(|a| !a.is_empty()) {
            spec["audiences"] = json!([audience]);
        }
        let request = json!({ "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec });
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &namespace);
        let answer: TokenRequest = api
            .create_subresource("token", &account, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                Error::api(
                    "request service account token",
                    format!("serviceaccount {namespace}/{account}"),
                    e,
                )
            })?;
        Ok(answer
            .status
            .map(|s| s.token)
            .unwrap_or_default()
            .into_bytes())
    }

    /// The files of one source of a projected volume.
    async fn projected_source(
        &mut self,
        pod: &Pod,
        volume: &Volume,
        source: &k8s_openapi::api::core::v1::VolumeProjection,
        mode: u32,
    ) -> Result<Vec<VolumeFile>> {
        if let Some(cm) = &source.config_map {
            let optional = cm.optional == Some(true);
            self.config_map_files(&cm.name, cm.items.as_ref(), optional, mode)
                .await
        } else if let Some(secret) = &source.secret {
            let optional = secret.optional == Some(true);
            self.secret_files(&secret.name, secret.items.as_ref(), optional, mode)
                .await
        } else if let Some(downward) = &source.downward_api {
            self.downward_files(pod, downward.items.as_deref().unwrap_or_default(), mode)
        } else if let Some(token) = &source.service_account_token {
            let contents = self
                .token(pod, token.audience.as_deref(), token.expiration_seconds)
                .await?;
            Ok(vec![(token.path.clone(), contents, mode)])
        } else {
            Err(Error::NotBuilt(format!(
                "projected volume source of {} ({})",
                volume.name,
                pod_name(pod)
            )))
        }
    }

    /// Renders the files of a keyed volume (configMap, secret, downwardAPI, projected).
    async fn files(&mut self, pod: &Pod, volume: &Volume) -> Result<Option<Vec<VolumeFile>>> {
        if let Some(cm) = &volume.config_map {
            let mode = cm.default_mode.map(|m| m as u32).unwrap_or(0o644);
            return Ok(Some(
                self.config_map_files(&cm.name, cm.items.as_ref(), cm.optional == Some(true), mode)
                    .await?,
            ));
        }
        if let Some(secret) = &volume.secret {
            let mode = secret.default_mode.map(|m| m as u32).unwrap_or(0o644);
            let name = secret.secret_name.clone().unwrap_or_default();
            return Ok(Some(
                self.secret_files(
                    &name,
                    secret.items.as_ref(),
                    secret.optional == Some(true),
                    mode,
                )
                .await?,
            ));
        }
        if let Some(downward) = &volume.downward_api {
            let mode = downward.default_mode.map(|m| m as u32).unwrap_or(0o644);
            return Ok(Some(self.downward_files(
                pod,
                downward.items.as_deref().unwrap_or_default(),
                mode,
            )?));
        }
        if let Some(projected) = &volume.projected {
            let mode = projected.default_mode.map(|m| m as u32).unwrap_or(0o644);
            let mut files = Vec::new();
            for source in projected.sources.iter().flatten() {
                match self.projected_source(pod, volume, source, mode).await {
                    Ok(more) => files.extend(more),
                    // The volume the agent adds itself never keeps a pod from starting.
                    Err(error) if volume.name == INJECTED_VOLUME => {
                        tracing::warn!(pod = %pod_name(pod), %error, "service account volume is incomplete");
                    }
                    Err(error) => return Err(error),
                }
            }
            return Ok(Some(files));
        }
        Ok(None)
    }
}

/// Where in-cluster clients look for their credentials.
pub const SERVICE_ACCOUNT_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The name of the service-account volume the agent adds.
pub const INJECTED_VOLUME: &str = "kube-api-access-clusterd";

/// Adds upstream's `kube-api-access-*` volume (token, ca.crt, namespace) and its mount to every
/// container, as the ServiceAccount admission plugin would: clusterd's API server does not add it,
/// so the agent does, unless `automountServiceAccountToken` is false or a container already
/// mounts something there.
pub fn inject_service_account_volume(pod: &mut Pod) {
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    if spec.automount_service_account_token == Some(false)
        || spec
            .volumes
            .iter()
            .flatten()
            .any(|v| v.name.starts_with("kube-api-access-"))
    {
        return;
    }
    let volume: Volume = serde_json::from_value(json!({
        "name": INJECTED_VOLUME,
        "projected": { "defaultMode": 0o644, "sources": [
            { "serviceAccountToken": { "path": "token", "expirationSeconds": 3607 } },
            { "configMap": { "name": ROOT_CA_CONFIG_MAP, "items": [{ "key": "ca.crt", "path": "ca.crt" }] } },
            { "downwardAPI": { "items": [{ "path": "namespace", "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } }] } },
        ]},
    }))
    .expect("a valid volume");
    let mut used = false;
    let containers = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten());
    for container in containers {
        let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
        if mounts
            .iter()
            .any(|m| m.mount_path.trim_end_matches('/') == SERVICE_ACCOUNT_MOUNT)
        {
            continue;
        }
        mounts.push(k8s_openapi::api::core::v1::VolumeMount {
            name: INJECTED_VOLUME.into(),
            mount_path: SERVICE_ACCOUNT_MOUNT.into(),
            read_only: Some(true),
            ..Default::default()
        });
        used = true;
    }
    if used {
        spec.volumes.get_or_insert_with(Vec::new).push(volume);
    }
}

fn is_mounted(path: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let wanted = path.display().to_string();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(wanted.as_str()))
}

/// Mounts a tmpfs on `dir` (memory-backed emptyDir); false when that is not possible here.
fn mount_tmpfs(dir: &Path) -> bool {
    if is_mounted(dir) {
        return true;
    }
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "mode=0777", "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Creates (or refreshes) every volume of `pod`; returns where each one is.
pub async fn prepare(ctx: &mut VolumeContext<'_>, pod: &Pod) -> Result<VolumePaths> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let root = ctx.config.pod_dir(&uid).join("volumes");
    let mut paths = VolumePaths::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let what = format!("volume {} of {}", volume.name, pod_name(pod));
        let path = if let Some(empty) = &volume.empty_dir {
            let dir = root.join("empty-dir").join(&volume.name);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create emptyDir", &dir, e))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| Error::io("set emptyDir mode", &dir, e))?;
            if empty.medium.as_deref() == Some("Memory") && !mount_tmpfs(&dir) {
                tracing::warn!(volume = %volume.name, "tmpfs not mountable here; emptyDir medium Memory is on disk");
            }
            dir
        } else if let Some(host) = &volume.host_path {
            let path = PathBuf::from(&host.path);
            match host.type_.as_deref().unwrap_or("") {
                "DirectoryOrCreate" => std::fs::create_dir_all(&path)
                    .map_err(|e| Error::io("create hostPath", &path, e))?,
                "FileOrCreate" if !path.exists() => {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| Error::io("create hostPath", parent, e))?;
                    }
                    std::fs::write(&path, b"")
                        .map_err(|e| Error::io("create hostPath", &path, e))?;
                }
                "Directory" if !path.is_dir() => {
                    return Err(Error::invalid(
                        what,
                        format!("hostPath {} is not a directory", path.display()),
                    ))
                }
                "File" if !path.is_file() => {
                    return Err(Error::invalid(
                        what,
                        format!("hostPath {} is not a file", path.display()),
                    ))
                }
                _ => {}
            }
            path
        } else {
            let kind = if volume.config_map.is_some() {
                "configmap"
            } else if volume.secret.is_some() {
                "secret"
            } else if volume.downward_api.is_some() {
                "downward-api"
            } else if volume.projected.is_some() {
                "projected"
            } else {
                return Err(Error::NotBuilt(format!("this kind of {what} (supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected)")));
            };
            let dir = root.join(kind).join(&volume.name);
            let files = ctx.files(pod, volume).await?.unwrap_or_default();
            write_files(&dir, &files)?;
            dir
        };
        paths.insert(volume.name.clone(), path);
    }
    Ok(paths)
}

/// The CRI mounts of `container` from its volumeMounts (subPath and readOnly honoured).
pub fn container_mounts(
    container: &Container,
    volumes: &VolumePaths,
    pod: &str,
) -> Result<Vec<api::Mount>> {
    let mut mounts = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let base = volumes.get(&mount.name).ok_or_else(|| {
            Error::invalid(
                format!(
                    "{pod} container {} volumeMount {}",
                    container.name, mount.name
                ),
                "names no volume of the pod",
            )
        })?;
        let mut host = base.clone();
        if let Some(sub) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if sub.split('/').any(|p| p == "..") || sub.starts_with('/') {
                return Err(Error::invalid(
                    format!("{pod} container {} subPath {sub}", container.name),
                    "must be relative without '..'",
                ));
            }
            host = base.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host)
                    .map_err(|e| Error::io("create subPath", &host, e))?;
            }
        }
        mounts.push(api::Mount {
            container_path: mount.mount_path.clone(),
            host_path: host.display().to_string(),
            readonly: mount.read_only == Some(true),
            ..Default::default()
        });
    }
    Ok(mounts)
}

/// Unmounts every tmpfs under the pod's directory and removes it.
pub fn cleanup(config: &AgentConfig, uid: &str) {
    let dir = config.pod_dir(uid);
    let prefix = format!("{}/", dir.display());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for target in mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|t| t.starts_with(&prefix))
    {
        let _ = std::process::Command::new("umount").arg(target).output();
    }
    if let Err(error) = std::fs::remove_dir_all(&dir) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), %error, "removing the pod directory failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_with_modes_and_stale_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("vol");
        write_files(
            &target,
            &[
                ("a".into(), b"1".to_vec(), 0o600),
                ("sub/b".into(), b"2".to_vec(), 0o644),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(target.join("sub/b")).unwrap(), b"2");
        let mode = std::fs::metadata(target.join("a"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        write_files(&target, &[("a".into(), b"3".to_vec(), 0o644)]).unwrap();
        assert_eq!(std::fs::read(target.join("a")).unwrap(), b"3");
        assert!(
            !target.join("sub/b").exists(),
            "a key that went away is removed"
        );
        assert!(write_files(&target, &[("../x".into(), Vec::new(), 0o644)]).is_err());
    }

    #[test]
    fn items_select_and_rename_keys() {
        let entries = BTreeMap::from([
            ("k1".to_owned(), b"v1".to_vec()),
            ("k2".to_owned(), b"v2".to_vec()),
        ]);
        let items = vec![KeyToPath {
            key: "k2".into(),
            path: "renamed".into(),
            mode: Some(0o400),
        }];
        let files = keyed_files(&entries, Some(&items), 0o644, "configmap c").unwrap();
        assert_eq!(files, [("renamed".to_owned(), b"v2".to_vec(), 0o400)]);
        let missing = vec![KeyToPath {
            key: "nope".into(),
            path: "x".into(),
            mode: None,
        }];
        let error = keyed_files(&entries, Some(&missing), 0o644, "configmap c")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("configmap c") && error.contains("nope"),
            "{error}"
        );
    }
}
