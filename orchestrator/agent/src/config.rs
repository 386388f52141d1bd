//! What one node agent needs to know about its node and cluster.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;

use crate::{Error, Result};

/// The cluster DNS address every pod's resolv.conf names (served by the agent itself).
pub const CLUSTER_DNS: &str = "10.96.0.10";
/// The cluster's DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The kubelet port the agent's HTTPS API listens on.
pub const KUBELET_PORT: u16 = 10250;
/// The kubelet version the node reports.
pub const KUBELET_VERSION: &str = "v1.32.0";

/// Settings of one node agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The Node's name (lowercase DNS label).
    pub node_name: String,
    /// The node's InternalIP.
    pub node_ip: IpAddr,
    /// Where the agent keeps its kubeconfig, certificates and pod directories.
    pub data_dir: PathBuf,
    /// Labels the Node is registered with, besides the well-known ones.
    pub labels: BTreeMap<String, String>,
    /// Taints the Node is registered with.
    pub taints: Vec<Taint>,
    /// The agent's HTTPS port, reported in the Node's daemon endpoints.
    pub port: u16,
    /// The cluster DNS server pods use.
    pub cluster_dns: String,
    /// The cluster's DNS domain.
    pub cluster_domain: String,
    /// A pod CIDR to set on the Node when the server assigned none (`None`: wait for the server).
    pub pod_cidr: Option<String>,
    /// Where the CNI conflist is written (the directory containerd reads).
    pub cni_conf_dir: PathBuf,
    /// The CNI bridge name.
    pub cni_bridge: String,
    /// The CNI network name.
    pub cni_network_name: String,
    /// host-local's lease directory (`None`: the plugin's default).
    pub cni_ipam_data_dir: Option<PathBuf>,
    /// Where pods' container logs go (`/var/log/pods` on a real node).
    pub pod_log_dir: PathBuf,
    /// The cluster CA (PEM), the `ca.crt` of service-account token volumes.
    pub cluster_ca: Option<Vec<u8>>,
    /// The API server's address as pods reach it (`KUBERNETES_SERVICE_HOST`/`PORT`).
    pub kubernetes_service: (String, u16),
    /// How often the Node's status is refreshed.
    pub status_interval: Duration,
    /// How often the node Lease is renewed.
    pub lease_interval: Duration,
    /// How often each pod's containers are checked.
    pub sync_interval: Duration,
    /// How often configMap, secret, downwardAPI and projected volumes are rendered again (so
    /// updates reach running pods and service-account tokens are renewed).
    pub volume_refresh_interval: Duration,
    /// First CrashLoopBackOff / ImagePullBackOff delay (doubles up to `max_backoff`).
    pub initial_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
}

impl AgentConfig {
    /// Defaults for node `node_name` at `node_ip` keeping its files under `data_dir`.
    pub fn new(node_name: &str, node_ip: IpAddr, data_dir: impl Into<PathBuf>) -> Self {
        AgentConfig {
            node_name: node_name.to_owned(),
            node_ip,
            data_dir: data_dir.into(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            port: KUBELET_PORT,
            cluster_dns: CLUSTER_DNS.into(),
            cluster_domain: CLUSTER_DOMAIN.into(),
            pod_cidr: None,
            cni_conf_dir: PathBuf::from("/etc/cni/net.d"),
            cni_bridge: "cni0".into(),
            cni_network_name: "clusterd".into(),
            cni_ipam_data_dir: None,
            pod_log_dir: PathBuf::from("/var/log/pods"),
            cluster_ca: None,
            kubernetes_service: ("10.96.0.1".into(), 443),
            status_interval: Duration::from_secs(10),
            lease_interval: Duration::from_secs(10),
            sync_interval: Duration::from_secs(1),
            volume_refresh_interval: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(300),
        }
    }

    /// Directory of one pod's files (volumes, etc.).
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.data_dir.join("pods").join(uid)
    }
}

/// Parses `k=v,k2=v2` (the `--node-labels` flag).
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| Error::invalid("--node-labels", format!("{item:?} is not key=value")))?;
        if key.is_empty() {
            return Err(Error::invalid(
                "--node-labels",
                format!("{item:?} has an empty key"),
            ));
        }
        labels.insert(key.to_owned(), value.to_owned());
    }
    Ok(labels)
}

/// Parses a duration flag as Go (and so kubelet and kube-apiserver) writes them: numbers with a
/// unit, one or several, `15s`, `500ms`, `1.5s`, `2h30m`; `0` alone is zero.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration: write e.g. 15s or 500ms".to_owned());
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{text:?} has no unit: write e.g. 15s or 500ms"))?;
        let (number, after) = rest.split_at(digits);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration: write e.g. 15s or 500ms"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let seconds = match unit {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h)")),
        };
        total += Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))?;
        rest = next;
    }
    Ok(total)
}

/// Parses `k=v:Effect,k2:Effect` (the `--register-with-taints` flag).
pub fn parse_taints(text: &str) -> Result<Vec<Taint>> {
    let mut taints = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let invalid =
            |reason: &str| Error::invalid("--register-with-taints", format!("{item:?} {reason}"));
        let (key_value, effect) = item
            .rsplit_once(':')
            .ok_or_else(|| invalid("is not key=value:Effect"))?;
        if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(invalid(
                "has an effect other than NoSchedule, PreferNoSchedule or NoExecute",
            ));
        }
        let (key, value) = match key_value.split_once('=') {
            Some((k, v)) => (k, Some(v.to_owned())),
            None => (key_value, None),
        };
        if key.is_empty() {
            return Err(invalid("has an empty key"));
        }
        taints.push(Taint {
            key: key.to_owned(),
            value,
            effect: effect.to_owned(),
            time_added: None,
        });
    }
    Ok(taints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_taints_parse_like_kubelet_flags() {
        let labels = parse_labels("tier=edge, zone=a").unwrap();
        assert_eq!(labels["tier"], "edge");
        assert_eq!(labels["zone"], "a");
        let taints = parse_taints("dedicated=db:NoSchedule,gpu:NoExecute").unwrap();
        assert_eq!(taints[0].key, "dedicated");
        assert_eq!(taints[0].value.as_deref(), Some("db"));
        assert_eq!(taints[1].effect, "NoExecute");
        assert_eq!(taints[1].value, None);
    }

    #[test]
    fn bad_flags_say_which_item_is_wrong() {
        let error = parse_labels("a=b,oops").unwrap_err().to_string();
        assert!(error.contains("\"oops\""), "{error}");
        let error = parse_taints("k=v:Sometimes").unwrap_err().to_string();
        assert!(error.contains("NoSchedule"), "{error}");
    }
}
