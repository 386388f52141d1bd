//! `GET /stats/summary`: what `kubectl top` needs, the CPU and memory use of the node and of each
//! pod's containers (CRI stats), in a small JSON the API server turns into metrics.k8s.io objects.

use std::collections::HashMap;
use std::time::Duration;

use clusterd_cri::Runtime;
use http::Response;
use serde::{Deserialize, Serialize};

use super::body::{json_response, Body};
use super::status;

/// The node's and its pods' resource use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSummary {
    /// CPU use of the whole node, in nanocores (1e9 = one core).
    pub node_usage_nano_cores: u64,
    /// Memory in use on the node (total less available), in bytes.
    pub node_working_set_bytes: u64,
    /// One entry per pod sandbox with containers.
    pub pods: Vec<PodUsage>,
}

/// One pod's containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodUsage {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
    /// Its running containers.
    pub containers: Vec<ContainerUsage>,
}

/// One container's use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerUsage {
    /// The container's name in the pod.
    pub name: String,
    /// CPU, in nanocores.
    pub usage_nano_cores: u64,
    /// Working set memory, in bytes.
    pub working_set_bytes: u64,
}

/// Serves the summary.
pub async fn summary<R: Runtime>(runtime: &R) -> Response<Body> {
    match collect(runtime).await {
        Ok(summary) => json_response(200, &serde_json::to_value(summary).unwrap_or_default()),
        Err(message) => status::internal(&message),
    }
}

/// Collects the summary from the runtime and `/proc`.
pub async fn collect<R: Runtime>(runtime: &R) -> Result<StatsSummary, String> {
    let sandboxes = runtime
        .list_pod_sandboxes(None)
        .await
        .map_err(|e| format!("list pod sandboxes for stats: {e}"))?;
    let containers = runtime
        .list_containers(None)
        .await
        .map_err(|e| format!("list containers for stats: {e}"))?;
    let stats = runtime
        .list_container_stats(None)
        .await
        .map_err(|e| format!("list container stats: {e}"))?;
    // Like upstream's metrics: running containers only, not earlier attempts or exited ones.
    let sandbox_of: HashMap<&str, &str> = containers
        .iter()
        .filter(|c| c.state == clusterd_cri::api::ContainerState::ContainerRunning as i32)
        .map(|c| (c.id.as_str(), c.pod_sandbox_id.as_str()))
        .collect();
    let mut pods: Vec<PodUsage> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for sandbox in &sandboxes {
        let Some(meta) = &sandbox.metadata else {
            continue;
        };
        index.insert(sandbox.id.as_str(), pods.len());
        pods.push(PodUsage {
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            containers: Vec::new(),
        });
    }
    for stat in &stats {
        let Some(attributes) = &stat.attributes else {
            continue;
        };
        let Some(&slot) = sandbox_of
            .get(attributes.id.as_str())
            .and_then(|sandbox| index.get(sandbox))
        else {
            continue;
        };
        let name = attributes
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        pods[slot].containers.push(ContainerUsage {
            name,
            usage_nano_cores: stat
                .cpu
                .as_ref()
                .and_then(|c| c.usage_nano_cores.as_ref())
                .map_or(0, |v| v.value),
            working_set_bytes: stat
                .memory
                .as_ref()
                .and_then(|m| m.working_set_bytes.as_ref())
                .map_or(0, |v| v.value),
        });
    }
    pods.retain(|p| !p.containers.is_empty());
    let (node_usage_nano_cores, node_working_set_bytes) = node_usage().await;
    Ok(StatsSummary {
        node_usage_nano_cores,
        node_working_set_bytes,
        pods,
    })
}

/// Busy and total jiffies of all CPUs, from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// The node's CPU use over a short sample and its memory in use.
async fn node_usage() -> (u64, u64) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let before = cpu_jiffies();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = cpu_jiffies();
    let cpu = match (before, after) {
        (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
            (busy1.saturating_sub(busy0)) * cpus * 1_000_000_000 / (total1 - total0)
        }
        _ => 0,
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> u64 {
        meminfo
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let memory = field("MemTotal:").saturating_sub(field("MemAvailable:"));
    (cpu, memory)
}
