//! Rules on the ssh block: the hosts and how to reach them.

use std::collections::HashMap;

use super::{names, net, Report};
use crate::cluster_config::ClusterConfig;
use crate::provider::Provider;
use crate::ssh::SshRole;
use crate::yaml::path;

pub(super) fn check(config: &ClusterConfig, report: &mut Report<'_>) {
    if config.provider != Provider::Ssh {
        return;
    }
    let hosts = config
        .ssh
        .as_ref()
        .map(|s| s.hosts.as_slice())
        .unwrap_or_default();
    if hosts.is_empty() {
        report.missing(
            "ssh.hosts",
            "at least one host is required (ssh.hosts or --hosts)",
        );
        return;
    }
    // Hosts without a role are made servers or agents by defaulting; only explicit agents fail.
    if hosts.iter().all(|h| h.role == Some(SshRole::Agent)) {
        report.error("ssh.hosts", "at least one host must have role: server");
    }
    let mut seen = HashMap::new();
    for (index, host) in hosts.iter().enumerate() {
        let at = path::item("ssh.hosts", index);
        endpoint(
            report,
            &at,
            &host.address,
            host.user.as_deref(),
            host.port,
            host.key.as_deref(),
        );
        if let Some(bastion) = &host.bastion {
            let bastion_at = format!("{at}.bastion");
            endpoint(
                report,
                &bastion_at,
                &bastion.address,
                bastion.user.as_deref(),
                bastion.port,
                bastion.key.as_deref(),
            );
        }
        let port = host.port.unwrap_or(22);
        if let Some(first) = seen.insert((host.address.to_ascii_lowercase(), port), index) {
            report.error(
                format!("{at}.address"),
                format!(
                    "duplicate host {}:{port} (also ssh.hosts[{first}])",
                    host.address
                ),
            );
        }
    }
    if let Some(known_hosts) = config.ssh.as_ref().and_then(|s| s.known_hosts.as_ref()) {
        if known_hosts.is_empty() {
            report.error("ssh.knownHosts", "must not be empty");
        }
    }
}

fn endpoint(
    report: &mut Report<'_>,
    at: &str,
    address: &str,
    user: Option<&str>,
    port: Option<u32>,
    key: Option<&str>,
) {
    report.check(format!("{at}.address"), net::host(address));
    if let Some(user) = user {
        report.check(format!("{at}.user"), names::user(user));
    }
    if let Some(port) = port {
        report.check(format!("{at}.port"), net::port(port, None));
    }
    if key.is_some_and(str::is_empty) {
        report.error(format!("{at}.key"), "must not be empty");
    }
}
