//! Mapping between the provider's Docker types and the Docker Engine API models bollard speaks.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, EndpointIpamConfig,
    EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum, Mount, MountType, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};

use super::{CgroupNs, ContainerInfo, ContainerSpec, ContainerState, Labels, PortMapping};

/// Docker's label filter: every `key=value` must match.
pub(crate) fn label_filter(labels: &Labels) -> HashMap<String, Vec<String>> {
    let values = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    HashMap::from([("label".to_owned(), values)])
}

pub(crate) fn sorted(labels: Option<HashMap<String, String>>) -> Labels {
    labels.unwrap_or_default().into_iter().collect()
}

pub(crate) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The daemon's own message when it sent one, else the transport error.
pub(crate) fn detail(error: bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other => other.to_string(),
    }
}

pub(crate) fn host_config(spec: &ContainerSpec) -> HostConfig {
    let port_bindings = spec
        .ports
        .iter()
        .map(|port| {
            let binding = PortBinding {
                host_ip: Some(port.host_ip.clone()),
                host_port: Some(port.host_port.to_string()),
            };
            (
                format!("{}/{}", port.container_port, port.protocol),
                Some(vec![binding]),
            )
        })
        .collect::<HashMap<_, _>>();
    let mounts = spec
        .volumes
        .iter()
        .map(|volume| Mount {
            target: Some(volume.target.clone()),
            source: Some(volume.volume.clone()),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let non_empty = |values: &Vec<String>| (!values.is_empty()).then(|| values.clone());
    HostConfig {
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        security_opt: non_empty(&spec.security_opt),
        cgroupns_mode: spec.cgroupns.map(|mode| match mode {
            CgroupNs::Private => HostConfigCgroupnsModeEnum::PRIVATE,
            CgroupNs::Host => HostConfigCgroupnsModeEnum::HOST,
        }),
        binds: non_empty(&spec.binds),
        tmpfs: (!spec.tmpfs.is_empty()).then(|| {
            spec.tmpfs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        restart_policy: spec.restart.as_deref().map(|name| RestartPolicy {
            name: Some(match name {
                "always" => RestartPolicyNameEnum::ALWAYS,
                "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
                "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
                _ => RestartPolicyNameEnum::NO,
            }),
            maximum_retry_count: None,
        }),
        network_mode: spec.network.clone(),
        ..Default::default()
    }
}

pub(crate) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let networking_config = spec.network.as_ref().map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.clone(),
            EndpointSettings {
                aliases: Some(vec![spec.name.clone()]),
                ipam_config: spec
                    .ipv4_address
                    .as_ref()
                    .map(|address| EndpointIpamConfig {
                        ipv4_address: Some(address.clone()),
                        ..Default::default()
                    }),
                ..Default::default()
            },
        )])),
    });
    let exposed: Vec<String> = spec
        .ports
        .iter()
        .map(|port| format!("{}/{}", port.container_port, port.protocol))
        .collect();
    ContainerCreateBody {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        cmd: spec.cmd.clone(),
        env: (!spec.env.is_empty()).then(|| spec.env.clone()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host_config(spec)),
        networking_config,
        ..Default::default()
    }
}

pub(crate) fn from_inspect(response: ContainerInspectResponse) -> ContainerInfo {
    let state = response
        .state
        .and_then(|state| state.status)
        .map(|status| ContainerState::from_docker(status.as_ref()))
        .unwrap_or(ContainerState::Exited);
    let settings = response.network_settings.unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in settings.ports.unwrap_or_default() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        for binding in bindings.unwrap_or_default() {
            ports.push(PortMapping {
                host_ip: binding.host_ip.unwrap_or_default(),
                host_port: binding.host_port.and_then(|p| p.parse().ok()).unwrap_or(0),
                container_port: port.parse().unwrap_or(0),
                protocol: protocol.to_owned(),
            });
        }
    }
    ports.sort_by_key(|port| (port.container_port, port.host_port));
    let config = response.config.unwrap_or_default();
    ContainerInfo {
        id: response.id.unwrap_or_default(),
        name: response
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        image: config.image.unwrap_or_default(),
        labels: sorted(config.labels),
        state,
        ports,
        addresses: addresses(settings.networks),
    }
}

pub(crate) fn from_summary(summary: ContainerSummary) -> ContainerInfo {
    let ports = summary
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            Some(PortMapping {
                host_ip: port.ip.unwrap_or_default(),
                host_port: port.public_port?,
                container_port: port.private_port,
                protocol: port
                    .typ
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "tcp".into()),
            })
        })
        .collect();
    ContainerInfo {
        id: summary.id.unwrap_or_default(),
        name: summary
            .names
            .unwrap_or_default()
            .first()
            .map(|name| name.trim_start_matches('/').to_owned())
            .unwrap_or_default(),
        image: summary.image.unwrap_or_default(),
        labels: sorted(summary.labels),
        state: summary
            .state
            .map(|state| ContainerState::from_docker(state.as_ref()))
            .unwrap_or(ContainerState::Exited),
        ports,
        addresses: addresses(summary.network_settings.and_then(|s| s.networks)),
    }
}

pub(crate) fn addresses(
    networks: Option<HashMap<String, EndpointSettings>>,
) -> BTreeMap<String, String> {
    networks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, endpoint)| {
            endpoint
                .ip_address
                .filter(|ip| !ip.is_empty())
                .map(|ip| (name, ip))
        })
        .collect()
}

/// Splits `repo:tag` (a registry port's colon is not a tag separator); no tag means `latest`.
pub(crate) fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_splits_on_the_last_colon_outside_a_registry_port() {
        assert_eq!(
            split_reference("clusterctl/node:v1"),
            ("clusterctl/node", "v1")
        );
        assert_eq!(
            split_reference("localhost:5000/node"),
            ("localhost:5000/node", "latest")
        );
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
    }

    #[test]
    fn host_config_carries_every_isolation_setting_of_the_spec() {
        let spec = ContainerSpec {
            name: "dev-server-0".into(),
            cap_add: vec!["ALL".into()],
            cap_drop: vec!["SYS_RESOURCE".into()],
            security_opt: vec!["seccomp=unconfined".into()],
            cgroupns: Some(CgroupNs::Private),
            restart: Some("unless-stopped".into()),
            ports: vec![PortMapping {
                host_ip: "127.0.0.1".into(),
                host_port: 40123,
                container_port: 6443,
                protocol: "tcp".into(),
            }],
            ..Default::default()
        };
        let config = host_config(&spec);
        assert_eq!(config.cap_drop, Some(vec!["SYS_RESOURCE".to_owned()]));
        assert_eq!(
            config.cgroupns_mode,
            Some(HostConfigCgroupnsModeEnum::PRIVATE)
        );
        assert_eq!(
            config.restart_policy.and_then(|p| p.name),
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        let binding = &config.port_bindings.unwrap()["6443/tcp"];
        assert_eq!(
            binding.as_ref().unwrap()[0].host_port.as_deref(),
            Some("40123")
        );
    }
}
