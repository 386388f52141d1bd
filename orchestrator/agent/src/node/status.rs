//! The Node's status: capacity, addresses, node info and honest conditions.

use std::sync::Arc;

use clusterd_cri::{RuntimeHealth, RuntimeVersion};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};

use super::host::{HostInfo, Pressure};
use crate::config::KUBELET_VERSION;
use crate::{AgentConfig, Error, Result};

/// The reason of the Ready condition when the node is ready.
pub const READY_REASON: &str = "KubeletReady";

/// Posts the Node's status; remembers the conditions to keep their transition times.
pub struct NodeStatusReporter {
    client: kube::Client,
    config: Arc<AgentConfig>,
    host: HostInfo,
    /// `(type, status, reason, message, lastTransitionTime)` as last posted.
    last: Vec<(String, String, String, String, String)>,
}

/// One condition before its times are filled in.
struct Condition {
    kind: &'static str,
    status: bool,
    reason: &'static str,
    message: String,
}

/// The node's conditions from the runtime's health and the host's pressure signals.
fn conditions(health: &clusterd_cri::Result<RuntimeHealth>, pressure: Pressure) -> Vec<Condition> {
    let ready = match health {
        Ok(h) if h.runtime_ready && h.network_ready => Condition {
            kind: "Ready",
            status: true,
            reason: READY_REASON,
            message: "kubelet is posting ready status".into(),
        },
        Ok(h) => Condition {
            kind: "Ready",
            status: false,
            reason: "KubeletNotReady",
            message: format!("container runtime not ready: {}", h.problems.join("; ")),
        },
        Err(e) => Condition {
            kind: "Ready",
            status: false,
            reason: "KubeletNotReady",
            message: format!("container runtime is down: {e}"),
        },
    };
    let pressure_condition = |kind, on: bool, yes, no, yes_msg: &str, no_msg: &str| Condition {
        kind,
        status: on,
        reason: if on { yes } else { no },
        message: if on { yes_msg.into() } else { no_msg.into() },
    };
    vec![
        pressure_condition(
            "MemoryPressure",
            pressure.memory,
            "KubeletHasInsufficientMemory",
            "KubeletHasSufficientMemory",
            "kubelet has insufficient memory available",
            "kubelet has sufficient memory available",
        ),
        pressure_condition(
            "DiskPressure",
            pressure.disk,
            "KubeletHasDiskPressure",
            "KubeletHasNoDiskPressure",
            "kubelet has disk pressure",
            "kubelet has no disk pressure",
        ),
        pressure_condition(
            "PIDPressure",
            pressure.pid,
            "KubeletHasInsufficientPID",
            "KubeletHasSufficientPID",
            "kubelet has insufficient PID available",
            "kubelet has sufficient PID available",
        ),
        ready,
    ]
}

impl std::fmt::Debug for NodeStatusReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeStatusReporter")
            .field("node", &self.config.node_name)
            .finish_non_exhaustive()
    }
}

impl NodeStatusReporter {
    /// A reporter for the agent's node.
    pub fn new(client: kube::Client, config: Arc<AgentConfig>, host: HostInfo) -> Self {
        NodeStatusReporter {
            client,
            config,
            host,
            last: Vec::new(),
        }
    }

    /// Forgets what was posted, so the next call posts everything again.
    pub fn forget(&mut self) {
        self.last.clear();
    }

    /// Posts the status when `due` or when a condition changed; true when it posted.
    pub async fn post_if_needed(
        &mut self,
        health: clusterd_cri::Result<RuntimeHealth>,
        version: clusterd_cri::Result<RuntimeVersion>,
        due: bool,
    ) -> Result<bool> {
        let now = Timestamp::now().to_string();
        let pressure = Pressure::probe(&self.config.data_dir);
        let mut current = Vec::new();
        for c in conditions(&health, pressure) {
            let status = if c.status { "True" } else { "False" };
            let since = self
                .last
                .iter()
                .find(|l| l.0 == c.kind && l.1 == status)
                .map(|l| l.4.clone())
                .unwrap_or_else(|| now.clone());
            current.push((
                c.kind.to_owned(),
                status.to_owned(),
                c.reason.to_owned(),
                c.message,
                since,
            ));
        }
        let changed = current
            .iter()
            .map(|c| (&c.0, &c.1, &c.2, &c.3))
            .ne(self.last.iter().map(|c| (&c.0, &c.1, &c.2, &c.3)));
        if !due && !changed {
            return Ok(false);
        }
        let runtime_version = match &version {
            Ok(v) => format!("{}://{}", v.runtime_name, v.runtime_version),
            Err(_) => String::new(),
        };
        let body = self.status_body(&current, &now, &runtime_version);
        let nodes: Api<Node> = Api::all(self.client.clone());
        nodes
            .patch_status(
                &self.config.node_name,
                &PatchParams::default(),
                &Patch::Merge(&body),
            )
            .await
            .map_err(|e| {
                Error::api(
                    "post node status",
                    format!("node/{}", self.config.node_name),
                    e,
                )
            })?;
        if changed {
            tracing::info!(node = %self.config.node_name, ready = %current.last().map(|c| c.1.as_str()).unwrap_or(""), "node conditions changed");
        }
        self.last = current;
        Ok(true)
    }

    fn status_body(
        &self,
        conditions: &[(String, String, String, String, String)],
        now: &str,
        runtime_version: &str,
    ) -> Value {
        let host = &self.host;
        let resources = json!({
            "cpu": host.cpus.to_string(),
            "memory": format!("{}Ki", host.memory_bytes / 1024),
            "pods": "110",
            "ephemeral-storage": format!("{}Ki", host.ephemeral_storage_bytes / 1024),
        });
        let conditions: Vec<Value> = conditions
            .iter()
            .map(|(kind, status, reason, message, since)| {
                json!({
                    "type": kind, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": now, "lastTransitionTime": since,
                })
            })
            .collect();
        json!({
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": conditions,
                "addresses": [
                    { "type": "InternalIP", "address": self.config.node_ip.to_string() },
                    { "type": "Hostname", "address": self.config.node_name },
                ],
                "daemonEndpoints": { "kubeletEndpoint": { "Port": self.config.port } },
                "nodeInfo": {
                    "machineID": host.machine_id,
                    "systemUUID": host.machine_id,
                    "bootID": host.boot_id,
                    "kernelVersion": host.kernel_version,
                    "osImage": host.os_image,
                    "containerRuntimeVersion": runtime_version,
                    "kubeletVersion": KUBELET_VERSION,
                    "kubeProxyVersion": KUBELET_VERSION,
                    "operatingSystem": "linux",
                    "architecture": HostInfo::architecture(),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_ready_carries_the_runtime_problems() {
        let health = Ok(RuntimeHealth {
            runtime_ready: true,
            network_ready: false,
            problems: vec![
                "NetworkReady is false: NetworkPluginNotReady: cni config uninitialized".into(),
            ],
        });
        let quiet = Pressure {
            memory: false,
            disk: false,
            pid: false,
        };
        let list = conditions(&health, quiet);
        let ready = list.iter().find(|c| c.kind == "Ready").unwrap();
        assert!(!ready.status);
        assert_eq!(ready.reason, "KubeletNotReady");
        assert!(
            ready.message.contains("cni config uninitialized"),
            "{}",
            ready.message
        );
        let memory = list.iter().find(|c| c.kind == "MemoryPressure").unwrap();
        assert_eq!(
            (memory.status, memory.reason),
            (false, "KubeletHasSufficientMemory")
        );
    }
}
