//! Rules on the local block: node counts, image, published ports, mounts.

use super::Report;
use super::{net, node_groups};
use crate::cluster_config::ClusterConfig;
use crate::local::Protocol;
use crate::provider::Provider;
use crate::yaml::path;

/// A host port something publishes, and who publishes it.
struct Published {
    address: String,
    port: u32,
    protocol: Protocol,
    by: String,
}

pub(super) fn check(config: &ClusterConfig, report: &mut Report<'_>) {
    if config.provider != Provider::Local {
        return;
    }
    let Some(local) = &config.local else { return };
    if let Some(servers) = local.servers.filter(|s| *s < 1) {
        report.error("local.servers", format!("must be >= 1 (is {servers})"));
    }
    if let Some(workers) = local.workers.filter(|w| *w < 0) {
        report.error("local.workers", format!("must be >= 0 (is {workers})"));
    }
    if let Some(image) = &local.image {
        if image.is_empty() || image.chars().any(char::is_whitespace) {
            report.error(
                "local.image",
                format!("{image:?} is not an image reference like clusterctl/node:v1.32"),
            );
        }
    }

    let mut published: Vec<Published> = Vec::new();
    let networking = &config.networking;
    if let (Some(port @ 1..), Some(address)) =
        (networking.api_server_port, &networking.api_server_address)
    {
        published.push(Published {
            address: address.clone(),
            port,
            protocol: Protocol::Tcp,
            by: "networking.apiServerPort".into(),
        });
    }
    for (index, mapping) in local.port_mappings.iter().enumerate() {
        let at = path::item("local.portMappings", index);
        report.check(
            format!("{at}.containerPort"),
            net::port(mapping.container_port, None),
        );
        if let Some(port) = mapping.host_port {
            report.check(
                format!("{at}.hostPort"),
                net::port(port, Some("any free port")),
            );
        }
        if let Some(address) = &mapping.listen_address {
            report.check(format!("{at}.listenAddress"), net::ip(address));
        }
        let protocol = mapping.protocol.unwrap_or(Protocol::Tcp);
        let address = mapping
            .listen_address
            .clone()
            .unwrap_or_else(|| "127.0.0.1".into());
        let Some(port @ 1..=65535) = mapping.host_port else {
            continue;
        };
        let clash = published.iter().find(|p| {
            p.port == port && p.protocol == protocol && net::listen_overlap(&p.address, &address)
        });
        match clash {
            Some(other) => report.error(
                format!("{at}.hostPort"),
                format!(
                    "{port}/{protocol} on {address} is already published by {}",
                    other.by
                ),
            ),
            None => published.push(Published {
                address,
                port,
                protocol,
                by: at,
            }),
        }
    }

    for (index, mount) in local.mounts.iter().enumerate() {
        let at = path::item("local.mounts", index);
        if mount.host_path.is_empty() {
            report.error(format!("{at}.hostPath"), "must not be empty");
        }
        if !mount.container_path.starts_with('/') {
            report.error(
                format!("{at}.containerPath"),
                format!("{:?} must be an absolute path", mount.container_path),
            );
        }
    }
    node_groups::check_labels("local.serverLabels", &local.server_labels, report);
    node_groups::check_taints("local.serverTaints", &local.server_taints, report);
    node_groups::check_labels("local.workerLabels", &local.worker_labels, report);
    node_groups::check_taints("local.workerTaints", &local.worker_taints, report);
}
