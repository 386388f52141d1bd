//! Container environment: values, ConfigMap/Secret keys, the downward API, resource fields,
//! `envFrom`, the `KUBERNETES_SERVICE_*` variables and `$(VAR)` expansion.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::api::Api;

use super::quantity;
use crate::{AgentConfig, Error, Result};

/// Reads the ConfigMaps and Secrets of one namespace, each at most once per render.
pub struct Objects {
    client: kube::Client,
    namespace: String,
    config_maps: BTreeMap<String, Option<ConfigMap>>,
    secrets: BTreeMap<String, Option<Secret>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Objects {
    /// Lookups in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Objects {
            client,
            namespace: namespace.to_owned(),
            config_maps: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// The ConfigMap's entries (binary ones as bytes), `None` when it does not exist.
    pub async fn config_map(&mut self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let found = api.get_opt(name).await.map_err(|e| {
                Error::api("read configmap", format!("{}/{name}", self.namespace), e)
            })?;
            self.config_maps.insert(name.to_owned(), found);
        }
        Ok(self.config_maps[name].as_ref().map(|cm| {
            let mut entries: BTreeMap<String, Vec<u8>> = cm
                .data
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            for (k, v) in cm.binary_data.clone().unwrap_or_default() {
                entries.insert(k, v.0);
            }
            entries
        }))
    }

    /// The Secret's entries, `None` when it does not exist.
    pub async fn secret(&mut self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let found = api
                .get_opt(name)
                .await
                .map_err(|e| Error::api("read secret", format!("{}/{name}", self.namespace), e))?;
            self.secrets.insert(name.to_owned(), found);
        }
        Ok(self.secrets[name].as_ref().map(|s| {
            let mut entries: BTreeMap<String, Vec<u8>> = s
                .data
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in s.string_data.clone().unwrap_or_default() {
                entries.insert(k, v.into_bytes());
            }
            entries
        }))
    }
}

/// The value of a downward-API `fieldPath` for `pod`.
pub fn field_value(pod: &Pod, path: &str, pod_ip: &str, host_ip: &str) -> Result<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let map_key = |prefix: &str| -> Option<String> {
        let rest = path.strip_prefix(prefix)?;
        Some(
            rest.trim_start_matches("['")
                .trim_end_matches("']")
                .to_owned(),
        )
    };
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" => pod_ip.to_owned(),
        "status.podIPs" => pod_ip.to_owned(),
        "status.hostIP" | "status.hostIPs" => host_ip.to_owned(),
        "metadata.labels" => render_map(meta.labels.as_ref()),
        "metadata.annotations" => render_map(meta.annotations.as_ref()),
        _ => {
            if let Some(key) = map_key("metadata.labels") {
                meta.labels
                    .as_ref()
                    .and_then(|l| l.get(&key).cloned())
                    .unwrap_or_default()
            } else if let Some(key) = map_key("metadata.annotations") {
                meta.annotations
                    .as_ref()
                    .and_then(|a| a.get(&key).cloned())
                    .unwrap_or_default()
            } else {
                return Err(Error::invalid(
                    format!("fieldRef {path}"),
                    "not a supported downward API field",
                ));
            }
        }
    };
    Ok(value)
}

/// `key="value"` lines, as the downward API renders labels and annotations.
pub fn render_map(map: Option<&BTreeMap<String, String>>) -> String {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| format!("{k}={}\n", serde_json::Value::String(v.clone())))
            .collect::<String>()
    })
    .unwrap_or_default()
    .trim_end()
    .to_owned()
}

/// The value of a `resourceFieldRef` (`limits.cpu`, `requests.memory`, ...) divided by `divisor`.
pub fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
    node_cpus: u64,
    node_memory: u64,
) -> Result<String> {
    let resources = container.resources.as_ref();
    let (kind, name) = resource.split_once('.').ok_or_else(|| {
        Error::invalid(
            format!("resourceFieldRef {resource}"),
            "expected limits.<name> or requests.<name>",
        )
    })?;
    let map = match kind {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => {
            return Err(Error::invalid(
                format!("resourceFieldRef {resource}"),
                "expected limits or requests",
            ))
        }
    };
    let is_cpu = name == "cpu";
    let milli = match map.and_then(|m| m.get(name)) {
        Some(q) => quantity::milli_value(&q.0).ok_or_else(|| {
            Error::invalid(
                format!("resources.{resource}"),
                format!("{:?} is not a quantity", q.0),
            )
        })?,
        // Unset limits are the node's allocatable, like kubelet.
        None if kind == "limits" && is_cpu => i128::from(node_cpus) * 1000,
        None if kind == "limits" && name == "memory" => i128::from(node_memory) * 1000,
        None => 0,
    };
    let divisor = match divisor {
        Some(d) => quantity::milli_value(d).filter(|d| *d > 0).ok_or_else(|| {
            Error::invalid(
                format!("resourceFieldRef {resource} divisor"),
                format!("{d:?} is not a positive quantity"),
            )
        })?,
        None => 1000,
    };
    // Rounded up, as kubelet does.
    Ok(((milli + divisor - 1) / divisor).to_string())
}

/// Expands `$(VAR)` from `vars`; `$$(VAR)` stays a literal `$(VAR)`; unknown references stay as written.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match vars.get(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The container's environment in order, every value resolved and expanded.
pub async fn container_env(
    objects: &mut Objects,
    config: &AgentConfig,
    pod: &Pod,
    container: &Container,
    pod_ip: &str,
    node: (u64, u64),
) -> Result<Vec<(String, String)>> {
    let pod_name = format!(
        "pod {}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    );
    let host_ip = config.node_ip.to_string();
    let mut order: Vec<String> = Vec::new();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let set =
        |order: &mut Vec<String>, vars: &mut BTreeMap<String, String>, k: String, v: String| {
            if !vars.contains_key(&k) {
                order.push(k.clone());
            }
            vars.insert(k, v);
        };
    let (host, port) = &config.kubernetes_service;
    for (k, v) in [
        ("KUBERNETES_SERVICE_HOST", host.clone()),
        ("KUBERNETES_SERVICE_PORT", port.to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS", port.to_string()),
        ("KUBERNETES_PORT", format!("tcp://{host}:{port}")),
        (
            &format!("KUBERNETES_PORT_{port}_TCP"),
            format!("tcp://{host}:{port}"),
        ),
        (&format!("KUBERNETES_PORT_{port}_TCP_PROTO"), "tcp".into()),
        (
            &format!("KUBERNETES_PORT_{port}_TCP_PORT"),
            port.to_string(),
        ),
        (&format!("KUBERNETES_PORT_{port}_TCP_ADDR"), host.clone()),
    ] {
        set(&mut order, &mut vars, k.to_owned(), v);
    }
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let (entries, what, optional) = if let Some(cm) = &source.config_map_ref {
            (
                objects.config_map(&cm.name).await?,
                format!("configmap {}", cm.name),
                cm.optional == Some(true),
            )
        } else if let Some(secret) = &source.secret_ref {
            (
                objects.secret(&secret.name).await?,
                format!("secret {}", secret.name),
                secret.optional == Some(true),
            )
        } else {
            continue;
        };
        match entries {
            Some(entries) => {
                for (k, v) in entries {
                    set(
                        &mut order,
                        &mut vars,
                        format!("{prefix}{k}"),
                        String::from_utf8_lossy(&v).into_owned(),
                    );
                }
            }
            None if optional => {}
            None => {
                return Err(Error::invalid(
                    format!("{pod_name} envFrom"),
                    format!("{what} not found"),
                ))
            }
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    match objects
                        .config_map(&r.name)
                        .await?
                        .and_then(|m| m.get(&r.key).cloned())
                    {
                        Some(v) => String::from_utf8_lossy(&v).into_owned(),
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(Error::invalid(
                                format!("{pod_name} env {}", var.name),
                                format!("key {} of configmap {} not found", r.key, r.name),
                            ))
                        }
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    match objects
                        .secret(&r.name)
                        .await?
                        .and_then(|m| m.get(&r.key).cloned())
                    {
                        Some(v) => String::from_utf8_lossy(&v).into_owned(),
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(Error::invalid(
                                format!("{pod_name} env {}", var.name),
                                format!("key {} of secret {} not found", r.key, r.name),
                            ))
                        }
                    }
                } else if let Some(r) = &from.field_ref {
                    field_value(pod, &r.field_path, pod_ip, &host_ip)?
                } else if let Some(r) = &from.resource_field_ref {
                    let target = match r.container_name.as_deref() {
                        Some(name) if !name.is_empty() => pod
                            .spec
                            .iter()
                            .flat_map(|s| {
                                s.containers
                                    .iter()
                                    .chain(s.init_containers.iter().flatten())
                            })
                            .find(|c| c.name == name)
                            .ok_or_else(|| {
                                Error::invalid(
                                    format!("{pod_name} env {}", var.name),
                                    format!("no container {name}"),
                                )
                            })?,
                        _ => container,
                    };
                    resource_value(
                        target,
                        &r.resource,
                        r.divisor.as_ref().map(|d| d.0.as_str()),
                        node.0,
                        node.1,
                    )?
                } else {
                    String::new()
                }
            }
            (Some(value), None) => expand(value, &vars),
            (None, None) => String::new(),
        };
        set(&mut order, &mut vars, var.name.clone(), value);
    }
    Ok(order
        .into_iter()
        .map(|k| {
            let v = vars.remove(&k).unwrap_or_default();
            (k, v)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let vars = BTreeMap::from([
            ("A".to_owned(), "x".to_owned()),
            ("B".to_owned(), "y".to_owned()),
        ]);
        assert_eq!(expand("$(A)-$(B)", &vars), "x-y");
        assert_eq!(expand("$$(A) $(C) $A", &vars), "$(A) $(C) $A");
        assert_eq!(expand("$(A", &vars), "$(A");
    }

    #[test]
    fn downward_api_fields_come_from_the_pod() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"app": "web", "tier": "front"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "robot", "containers": []},
        }))
        .unwrap();
        let get = |path| field_value(&pod, path, "10.244.0.5", "192.0.2.1").unwrap();
        assert_eq!(get("metadata.name"), "web");
        assert_eq!(get("metadata.namespace"), "shop");
        assert_eq!(get("spec.nodeName"), "n1");
        assert_eq!(get("spec.serviceAccountName"), "robot");
        assert_eq!(get("status.podIP"), "10.244.0.5");
        assert_eq!(get("status.hostIP"), "192.0.2.1");
        assert_eq!(get("metadata.labels['tier']"), "front");
        assert_eq!(get("metadata.labels"), "app=\"web\"\ntier=\"front\"");
        assert!(field_value(&pod, "spec.bogus", "", "").is_err());
    }

    #[test]
    fn resource_fields_divide_and_round_up() {
        let container: Container = serde_json::from_value(serde_json::json!({
            "name": "c", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
        }))
        .unwrap();
        assert_eq!(
            resource_value(&container, "limits.cpu", None, 4, 1 << 30).unwrap(),
            "1"
        );
        assert_eq!(
            resource_value(&container, "limits.cpu", Some("1m"), 4, 1 << 30).unwrap(),
            "500"
        );
        assert_eq!(
            resource_value(&container, "limits.memory", Some("1Mi"), 4, 1 << 30).unwrap(),
            "64"
        );
        assert_eq!(
            resource_value(&container, "requests.cpu", None, 4, 1 << 30).unwrap(),
            "0"
        );
    }
}
