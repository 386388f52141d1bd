//! Rules on the cluster as a whole: identity, version, networking, which provider block.

use super::net::{self, Cidr};
use super::{names, version, Report};
use crate::cluster_config::ClusterConfig;
use crate::provider::Provider;
use crate::yaml::path;
use crate::{API_VERSION, KIND};

pub(super) fn check(config: &ClusterConfig, report: &mut Report<'_>) {
    let provider = config.provider;
    if config.api_version != API_VERSION {
        report.error(
            "apiVersion",
            format!(
                "unsupported value {:?}, expected {API_VERSION}",
                config.api_version
            ),
        );
    }
    if config.kind != KIND {
        report.error(
            "kind",
            format!("unsupported value {:?}, expected {KIND}", config.kind),
        );
    }
    report.check(
        "metadata.name",
        names::cluster_name(provider, config.name()),
    );
    match (&config.metadata.region, provider.is_managed_cloud()) {
        (Some(region), _) => report.check("metadata.region", names::region(provider, region)),
        (None, true) => report.missing("metadata.region", format!("required for {provider}")),
        (None, false) => {}
    }
    for (key, value) in &config.metadata.tags {
        report.check(
            path::child("metadata.tags", key),
            names::tag(provider, key, value),
        );
    }
    if let Some(v) = &config.kubernetes_version {
        report.check(
            "kubernetesVersion",
            version::kubernetes_version(provider, v),
        );
    }
    for other in config.provider_blocks() {
        if other != provider {
            report.error(
                other.as_str(),
                format!("settings for provider {other}, but provider is {provider} (remove the block or set provider: {other})"),
            );
        }
    }
    check_networking(config, report);
    check_registries(config, report);
}

fn check_registries(config: &ClusterConfig, report: &mut Report<'_>) {
    for (registry, urls) in &config.registries.mirrors {
        let field = path::child("registries.mirrors", registry);
        report.check(field.clone(), registry_name(registry));
        for (i, url) in urls.iter().enumerate() {
            report.check(format!("{field}[{i}]"), mirror_url(url));
        }
    }
}

/// A registry host with an optional port, e.g. `docker.io` or `registry.local:5000`.
fn registry_name(registry: &str) -> Result<(), String> {
    let ok = !registry.is_empty()
        && registry.starts_with(|c: char| c.is_ascii_alphanumeric())
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "registry {registry:?} is not a host name with an optional port (e.g. docker.io)"
        ))
    }
}

/// A mirror endpoint: `http://` or `https://`, a host, no spaces or quotes.
fn mirror_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("mirror URL {url:?} must start with http:// or https://"))?;
    if rest.split('/').next().unwrap_or_default().is_empty() {
        return Err(format!("mirror URL {url:?} has no host"));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '\''))
    {
        return Err(format!("mirror URL {url:?} contains a space or a quote"));
    }
    Ok(())
}

fn check_networking(config: &ClusterConfig, report: &mut Report<'_>) {
    let provider = config.provider;
    let networking = &config.networking;
    let cidr = |report: &mut Report<'_>, field: &str, value: &Option<String>| {
        let value = value.as_ref()?;
        let parsed = Cidr::parse(value);
        report.check(
            format!("networking.{field}"),
            parsed.as_ref().map(drop).map_err(Clone::clone),
        );
        parsed.ok()
    };
    let pods = cidr(report, "podSubnet", &networking.pod_subnet);
    let services = cidr(report, "serviceSubnet", &networking.service_subnet);

    if provider == Provider::Eks && networking.pod_subnet.is_some() {
        report.error(
            "networking.podSubnet",
            "not used by eks: pods take addresses from the vpc subnets (vpc cni)",
        );
    }
    if let Some(pods) = pods {
        let smallest = if pods.is_ipv4() { 24 } else { 64 };
        if pods.prefix() > smallest {
            report.error(
                "networking.podSubnet",
                format!(
                    "/{} is too small: each node takes a /{smallest}",
                    pods.prefix()
                ),
            );
        }
    }
    if let Some(services) = services {
        // kube-apiserver refuses larger service ranges.
        let largest = if services.is_ipv4() { 12 } else { 108 };
        if services.prefix() < largest {
            report.error(
                "networking.serviceSubnet",
                format!(
                    "/{} is too large: the largest service range is /{largest}",
                    services.prefix()
                ),
            );
        }
        if let (Some(pods), Some(pod_text)) = (pods, &networking.pod_subnet) {
            if pods.overlaps(&services) {
                report.error(
                    "networking.serviceSubnet",
                    format!("overlaps podSubnet {pod_text}"),
                );
            }
        }
        if provider == Provider::Eks {
            check_eks_service_range(config, &services, report);
        }
    }

    let api_fields = [
        ("apiServerPort", networking.api_server_port.is_some()),
        ("apiServerAddress", networking.api_server_address.is_some()),
    ];
    if provider.is_managed_cloud() {
        for (field, set) in api_fields {
            if set {
                report.error(
                    format!("networking.{field}"),
                    format!("not used by {provider}: the cloud runs the api server"),
                );
            }
        }
        return;
    }
    if let Some(port) = networking.api_server_port {
        let zero = (provider == Provider::Local).then_some("any free port");
        report.check("networking.apiServerPort", net::port(port, zero));
    }
    if let Some(address) = &networking.api_server_address {
        let check = match provider {
            Provider::Local => net::ip(address),
            _ => net::host(address),
        };
        report.check("networking.apiServerAddress", check);
    }
}

/// EKS takes a service range inside the private ranges, /12 to /24, outside the VPC.
fn check_eks_service_range(config: &ClusterConfig, services: &Cidr, report: &mut Report<'_>) {
    let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    let inside = private
        .iter()
        .filter_map(|p| Cidr::parse(p).ok())
        .any(|p| p.contains(services));
    if !inside || services.prefix() > 24 {
        report.error(
            "networking.serviceSubnet",
            "eks needs a service range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, between /12 and /24",
        );
    }
    let vpc_cidr = config
        .eks
        .as_ref()
        .and_then(|e| e.vpc.as_ref())
        .and_then(|v| v.cidr.as_ref());
    if let Some(vpc) = vpc_cidr.and_then(|c| Cidr::parse(c).ok().map(|p| (c, p))) {
        if vpc.1.overlaps(services) {
            report.error(
                "networking.serviceSubnet",
                format!("overlaps eks.vpc.cidr {}", vpc.0),
            );
        }
    }
}
