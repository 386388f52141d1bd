//! The CRI configs kubelet would send for a pod: its sandbox and each container.

use std::collections::HashMap;

use clusterd_cri::api;
use k8s_openapi::api::core::v1::{Container, Pod, SecurityContext};

use super::quantity;
use crate::AgentConfig;

/// Label with the pod's uid on every sandbox and container the agent creates.
pub const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
/// Label with the pod's name.
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
/// Label with the pod's namespace.
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// Label with the container's name.
pub const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";
/// Label with the container's restart count (its attempt), read back on re-adoption.
pub const RESTART_COUNT_LABEL: &str = "io.kubernetes.container.restartCount";

/// The directory of the pod's container logs: `<pod log dir>/<ns>_<name>_<uid>`.
pub fn log_directory(config: &AgentConfig, pod: &Pod) -> std::path::PathBuf {
    config.pod_log_dir.join(format!(
        "{}_{}_{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    ))
}

fn pod_labels(pod: &Pod) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = pod
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    labels.insert(
        POD_NAME_LABEL.into(),
        pod.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(
        POD_NAMESPACE_LABEL.into(),
        pod.metadata.namespace.clone().unwrap_or_default(),
    );
    labels.insert(
        POD_UID_LABEL.into(),
        pod.metadata.uid.clone().unwrap_or_default(),
    );
    labels
}

/// True when the pod uses the node's network namespace.
pub fn host_network(pod: &Pod) -> bool {
    pod.spec.as_ref().and_then(|s| s.host_network) == Some(true)
}

/// The pod's resolv.conf settings per `dnsPolicy` (`None`: the node's own resolv.conf), with
/// `dnsConfig` merged in as kubelet does.
pub fn dns_config(
    config: &AgentConfig,
    spec: &k8s_openapi::api::core::v1::PodSpec,
    namespace: &str,
    host_network: bool,
) -> Option<api::DnsConfig> {
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let cluster = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let domain = &config.cluster_domain;
    let mut dns = if cluster {
        api::DnsConfig {
            servers: vec![config.cluster_dns.clone()],
            searches: vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.clone(),
            ],
            options: vec!["ndots:5".into()],
        }
    } else if policy == "None" {
        api::DnsConfig::default()
    } else {
        return None;
    };
    if let Some(extra) = &spec.dns_config {
        dns.servers
            .extend(extra.nameservers.iter().flatten().cloned());
        dns.searches
            .extend(extra.searches.iter().flatten().cloned());
        for option in extra.options.iter().flatten() {
            let name = option.name.clone().unwrap_or_default();
            dns.options
                .retain(|o| o.split(':').next() != Some(name.as_str()));
            dns.options.push(match &option.value {
                Some(value) => format!("{name}:{value}"),
                None => name,
            });
        }
    }
    Some(dns)
}

/// The sandbox config: hostname, DNS, hostPorts, labels, log directory, namespaces.
pub fn sandbox_config(config: &AgentConfig, pod: &Pod, attempt: u32) -> api::PodSandboxConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let host_network = host_network(pod);
    let hostname = spec.hostname.clone().unwrap_or_else(|| name.clone());
    let hostname = if host_network {
        String::new()
    } else {
        hostname.chars().take(63).collect()
    };
    let dns_config = dns_config(config, &spec, &namespace, host_network);
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| api::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => api::Protocol::Udp as i32,
                Some("SCTP") => api::Protocol::Sctp as i32,
                _ => api::Protocol::Tcp as i32,
            },
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or_default(),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect();
    let node = api::NamespaceMode::Node as i32;
    let pod_mode = api::NamespaceMode::Pod as i32;
    let privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
    let pod_security = spec.security_context.as_ref();
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            namespace,
            attempt,
        }),
        hostname,
        log_directory: log_directory(config, pod).display().to_string(),
        dns_config,
        port_mappings,
        labels: pod_labels(pod),
        annotations: pod
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        linux: Some(api::LinuxPodSandboxConfig {
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(api::NamespaceOption {
                    network: if host_network { node } else { pod_mode },
                    pid: if spec.host_pid == Some(true) {
                        node
                    } else {
                        pod_mode
                    },
                    ipc: if spec.host_ipc == Some(true) {
                        node
                    } else {
                        pod_mode
                    },
                    ..Default::default()
                }),
                run_as_user: pod_security
                    .and_then(|s| s.run_as_user)
                    .map(|value| api::Int64Value { value }),
                run_as_group: pod_security
                    .and_then(|s| s.run_as_group)
                    .map(|value| api::Int64Value { value }),
                supplemental_groups: pod_security
                    .and_then(|s| s.supplemental_groups.clone())
                    .unwrap_or_default(),
                privileged,
                ..Default::default()
            }),
            sysctls: pod_security
                .and_then(|s| s.sysctls.as_ref())
                .map(|list| {
                    list.iter()
                        .map(|s| (s.name.clone(), s.value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// cpu/memory limits and requests as CRI Linux resources.
pub fn linux_resources(container: &Container) -> api::LinuxContainerResources {
    let resources = container.resources.as_ref();
    let get = |map: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
               name: &str| {
        map.and_then(|m| m.get(name))
            .and_then(|q| quantity::milli_value(&q.0))
    };
    let limits = resources.and_then(|r| r.limits.as_ref());
    let requests = resources.and_then(|r| r.requests.as_ref());
    let mut out = api::LinuxContainerResources::default();
    let cpu_request = get(requests, "cpu").or(get(limits, "cpu"));
    // kubelet's shares: request in millicores * 1024 / 1000, at least 2.
    out.cpu_shares = cpu_request
        .map(|m| (m * 1024 / 1000).max(2) as i64)
        .unwrap_or(2);
    if let Some(cpu_limit) = get(limits, "cpu") {
        out.cpu_period = 100_000;
        out.cpu_quota = ((cpu_limit * 100_000) / 1000).max(1000) as i64;
    }
    if let Some(memory) = get(limits, "memory") {
        out.memory_limit_in_bytes = (memory / 1000) as i64;
    }
    out
}

fn capability_name(name: &str) -> String {
    let upper = name.to_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// The container's Linux security settings (container fields override the pod's).
pub fn security_context(pod: &Pod, container: &Container) -> api::LinuxContainerSecurityContext {
    let pod_security = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let own: SecurityContext = container.security_context.clone().unwrap_or_default();
    let run_as_user = own.run_as_user.or(pod_security.and_then(|s| s.run_as_user));
    let run_as_group = own
        .run_as_group
        .or(pod_security.and_then(|s| s.run_as_group));
    let capabilities = own.capabilities.as_ref().map(|c| api::Capability {
        add_capabilities: c.add.iter().flatten().map(|n| capability_name(n)).collect(),
        drop_capabilities: c
            .drop
            .iter()
            .flatten()
            .map(|n| capability_name(n))
            .collect(),
        ..Default::default()
    });
    let host = |on: bool| {
        if on {
            api::NamespaceMode::Node as i32
        } else {
            api::NamespaceMode::Pod as i32
        }
    };
    let spec = pod.spec.as_ref();
    api::LinuxContainerSecurityContext {
        capabilities,
        privileged: own.privileged == Some(true),
        run_as_user: run_as_user.map(|value| api::Int64Value { value }),
        run_as_group: run_as_group.map(|value| api::Int64Value { value }),
        readonly_rootfs: own.read_only_root_filesystem == Some(true),
        supplemental_groups: pod_security
            .and_then(|s| s.supplemental_groups.clone())
            .unwrap_or_default(),
        no_new_privs: own.allow_privilege_escalation == Some(false),
        namespace_options: Some(api::NamespaceOption {
            network: host(spec.and_then(|s| s.host_network) == Some(true)),
            pid: if spec.and_then(|s| s.share_process_namespace) == Some(true)
                || spec.and_then(|s| s.host_pid) == Some(true)
            {
                host(spec.and_then(|s| s.host_pid) == Some(true))
            } else {
                api::NamespaceMode::Container as i32
            },
            ipc: host(spec.and_then(|s| s.host_ipc) == Some(true)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The container config: image, command/args/env expanded, mounts, log path, labels, limits.
pub fn container_config(
    pod: &Pod,
    container: &Container,
    image: &str,
    env: &[(String, String)],
    mounts: Vec<api::Mount>,
    attempt: u32,
) -> api::ContainerConfig {
    let vars: std::collections::BTreeMap<String, String> = env.iter().cloned().collect();
    let expand = |list: &Option<Vec<String>>| -> Vec<String> {
        list.iter()
            .flatten()
            .map(|s| super::env::expand(s, &vars))
            .collect()
    };
    let mut labels = pod_labels(pod);
    labels.retain(|k, _| k.starts_with("io.kubernetes."));
    labels.insert(CONTAINER_NAME_LABEL.into(), container.name.clone());
    labels.insert(RESTART_COUNT_LABEL.into(), attempt.to_string());
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: container.name.clone(),
            attempt,
        }),
        image: Some(api::ImageSpec {
            image: image.to_owned(),
            ..Default::default()
        }),
        command: expand(&container.command),
        args: expand(&container.args),
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: env
            .iter()
            .map(|(key, value)| api::KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        mounts,
        labels,
        annotations: HashMap::from([(RESTART_COUNT_LABEL.to_owned(), attempt.to_string())]),
        log_path: format!("{}/{attempt}.log", container.name),
        stdin: container.stdin == Some(true),
        stdin_once: container.stdin_once == Some(true),
        tty: container.tty == Some(true),
        linux: Some(api::LinuxContainerConfig {
            resources: Some(linux_resources(container)),
            security_context: Some(security_context(pod, container)),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn sandbox_has_cluster_dns_host_ports_and_pod_labels() {
        let config = AgentConfig::new("n1", "192.0.2.1".parse().unwrap(), "/tmp/x");
        let pod = pod(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}]},
        }));
        let sandbox = sandbox_config(&config, &pod, 0);
        let dns = sandbox.dns_config.unwrap();
        assert_eq!(dns.servers, ["10.96.0.10"]);
        assert_eq!(
            dns.searches,
            [
                "shop.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local"
            ]
        );
        assert_eq!(dns.options, ["ndots:5"]);
        assert_eq!(sandbox.hostname, "web");
        assert_eq!(sandbox.port_mappings[0].host_port, 8080);
        assert_eq!(sandbox.labels[POD_UID_LABEL], "u1");
        assert_eq!(sandbox.labels["app"], "web");
        assert_eq!(sandbox.log_directory, "/var/log/pods/shop_web_u1");
    }

    #[test]
    fn dns_policy_picks_cluster_dns_node_dns_or_only_the_given_config() {
        let config = AgentConfig::new("n1", "192.0.2.1".parse().unwrap(), "/tmp/x");
        let spec = |policy: Option<&str>, host: bool| {
            serde_json::from_value::<k8s_openapi::api::core::v1::PodSpec>(serde_json::json!({
                "containers": [], "hostNetwork": host, "dnsPolicy": policy,
                "dnsConfig": {"nameservers": ["192.0.2.53"], "options": [{"name": "ndots", "value": "2"}]},
            }))
            .unwrap()
        };
        let cluster = dns_config(&config, &spec(None, false), "ns", false).unwrap();
        assert_eq!(cluster.servers, ["10.96.0.10", "192.0.2.53"]);
        assert_eq!(cluster.options, ["ndots:2"]);
        assert!(
            dns_config(&config, &spec(None, true), "ns", true).is_none(),
            "hostNetwork uses the node's DNS"
        );
        assert!(dns_config(
            &config,
            &spec(Some("ClusterFirstWithHostNet"), true),
            "ns",
            true
        )
        .is_some());
        assert!(dns_config(&config, &spec(Some("Default"), false), "ns", false).is_none());
        let none = dns_config(&config, &spec(Some("None"), false), "ns", false).unwrap();
        assert_eq!(none.servers, ["192.0.2.53"]);
        assert!(none.searches.is_empty());
    }

    #[test]
    fn limits_become_cgroup_settings_and_capabilities_get_their_prefix() {
        let pod = pod(serde_json::json!({
            "metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {"securityContext": {"runAsUser": 1000}, "containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}},
                "securityContext": {"readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}}]},
        }));
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let resources = linux_resources(container);
        assert_eq!(
            (resources.cpu_period, resources.cpu_quota),
            (100_000, 50_000)
        );
        assert_eq!(resources.cpu_shares, 256);
        assert_eq!(resources.memory_limit_in_bytes, 64 << 20);
        let security = security_context(&pod, container);
        assert_eq!(security.run_as_user.unwrap().value, 1000);
        assert!(security.readonly_rootfs);
        let caps = security.capabilities.unwrap();
        assert_eq!(caps.add_capabilities, ["CAP_NET_ADMIN"]);
        assert_eq!(caps.drop_capabilities, ["ALL"]);
    }

    #[test]
    fn command_and_args_expand_env_references() {
        let pod = pod(
            serde_json::json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": {"containers": [
            {"name": "c", "image": "i", "command": ["echo", "$(GREETING)"], "args": ["$$(GREETING)"]}]}}),
        );
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let config = container_config(
            &pod,
            container,
            "i",
            &[("GREETING".into(), "hi".into())],
            Vec::new(),
            2,
        );
        assert_eq!(config.command, ["echo", "hi"]);
        assert_eq!(config.args, ["$(GREETING)"]);
        assert_eq!(config.log_path, "c/2.log");
        assert_eq!(config.labels[RESTART_COUNT_LABEL], "2");
        assert_eq!(config.metadata.unwrap().attempt, 2);
    }
}
