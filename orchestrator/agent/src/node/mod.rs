//! The agent's Node: registration, status, Lease and the pod network.
//!
//! The Node is created (or adopted when it exists, e.g. after a restart) with the well-known
//! labels, the configured labels and taints; its status (capacity, addresses, node info,
//! conditions) is posted every `status_interval` and whenever the conditions change; the Lease in
//! `kube-node-lease` is renewed every `lease_interval`. Once the Node has a `spec.podCIDR`, the
//! CNI conflist for it is written so the runtime's network becomes ready.

mod host;
mod lease;
mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use clusterd_cri::{CniConfig, PodCidr, Runtime};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::{AgentConfig, Error, Result};

pub use host::{HostInfo, Pressure};
pub use lease::renew_lease;
pub use status::{NodeStatusReporter, READY_REASON};

/// The labels every Node of this agent carries, besides the configured ones.
pub fn node_labels(config: &AgentConfig) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (
            "kubernetes.io/hostname".to_owned(),
            config.node_name.clone(),
        ),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        (
            "kubernetes.io/arch".to_owned(),
            HostInfo::architecture().to_owned(),
        ),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        (
            "beta.kubernetes.io/arch".to_owned(),
            HostInfo::architecture().to_owned(),
        ),
    ]);
    labels.extend(config.labels.clone());
    labels
}

/// Creates the Node, or adopts the existing one (adding the labels this agent sets).
pub async fn register(client: &kube::Client, config: &AgentConfig) -> Result<Node> {
    let nodes: Api<Node> = Api::all(client.clone());
    let target = format!("node/{}", config.node_name);
    let labels = node_labels(config);
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": { "name": config.node_name, "labels": labels },
        "spec": {
            "taints": config.taints,
            "podCIDR": config.pod_cidr,
            "podCIDRs": config.pod_cidr.as_ref().map(|c| vec![c.clone()]),
        },
    }))
    .map_err(|e| Error::invalid(&target, e.to_string()))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(created) => {
            tracing::info!(node = %config.node_name, "registered node");
            Ok(created)
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let patch = json!({ "metadata": { "labels": labels } });
            let adopted = nodes
                .patch(
                    &config.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(|e| Error::api("adopt existing node", &target, e))?;
            tracing::info!(node = %config.node_name, "adopted the existing node");
            Ok(adopted)
        }
        Err(e) => Err(Error::api("register node", &target, e)),
    }
}

/// Waits until the Node has a pod CIDR (setting `config.pod_cidr` when the server assigned none).
pub async fn wait_for_pod_cidr(client: &kube::Client, config: &AgentConfig) -> Result<PodCidr> {
    let nodes: Api<Node> = Api::all(client.clone());
    let target = format!("node/{}", config.node_name);
    let mut announced = false;
    loop {
        let node = nodes
            .get(&config.node_name)
            .await
            .map_err(|e| Error::api("read node", &target, e))?;
        let assigned = node.spec.as_ref().and_then(|s| s.pod_cidr.clone());
        match (assigned, &config.pod_cidr) {
            (Some(cidr), _) if !cidr.is_empty() => {
                return cidr.parse().map_err(|e: clusterd_cri::Error| {
                    Error::invalid(format!("{target} spec.podCIDR"), e.to_string())
                });
            }
            (_, Some(own)) => {
                let patch = json!({ "spec": { "podCIDR": own, "podCIDRs": [own] } });
                nodes
                    .patch(
                        &config.node_name,
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                    .map_err(|e| Error::api("set the node's pod CIDR", &target, e))?;
            }
            _ => {
                if !announced {
                    tracing::info!(node = %config.node_name, "waiting for the server to assign spec.podCIDR");
                    announced = true;
                }
                // The IPAM controller assigns within a controller pass: ask again soon.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// Writes the node's CNI conflist for `cidr`, after which the runtime reports NetworkReady.
pub fn write_cni_config(config: &AgentConfig, cidr: PodCidr) -> Result<std::path::PathBuf> {
    let mut cni = CniConfig::new(cidr);
    cni.bridge = config.cni_bridge.clone();
    cni.network_name = config.cni_network_name.clone();
    cni.ipam_data_dir = config.cni_ipam_data_dir.clone();
    cni.write(&config.cni_conf_dir)
        .map_err(|e| Error::runtime("write the CNI config", cni.network_name.clone(), e))
}

/// Registers the node, then posts its status and renews its Lease until dropped.
pub async fn run_node_loops<R: Runtime + 'static>(
    client: kube::Client,
    config: Arc<AgentConfig>,
    runtime: Arc<R>,
    host: HostInfo,
) {
    let mut reporter = NodeStatusReporter::new(client.clone(), config.clone(), host);
    // Quick checks while the node comes up (the runtime turns NetworkReady as soon as the CNI
    // config is written, and `create` waits for Ready), then once a second.
    let started = tokio::time::Instant::now();
    let mut status_tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut slowed = false;
    let mut lease_tick = tokio::time::interval(config.lease_interval);
    let mut last_post = None::<tokio::time::Instant>;
    loop {
        tokio::select! {
            _ = status_tick.tick() => {
                if !slowed && started.elapsed() > std::time::Duration::from_secs(30) {
                    status_tick = tokio::time::interval(std::time::Duration::from_secs(1));
                    slowed = true;
                }
                let health = runtime.status().await;
                let version = runtime.version().await;
                let due = last_post.is_none_or(|t| t.elapsed() >= config.status_interval);
                match reporter.post_if_needed(health, version, due).await {
                    Ok(true) => last_post = Some(tokio::time::Instant::now()),
                    Ok(false) => {}
                    Err(error) if error.is_api_not_found() => {
                        // Someone deleted the Node: register it again, as kubelet does.
                        tracing::warn!(node = %config.node_name, "the node was deleted; registering it again");
                        match register(&client, &config).await {
                            Ok(_) => reporter.forget(),
                            Err(error) => tracing::warn!(node = %config.node_name, %error, "registering the node again failed"),
                        }
                    }
                    Err(error) => tracing::warn!(node = %config.node_name, %error, "posting node status failed"),
                }
            }
            _ = lease_tick.tick() => {
                if let Err(error) = renew_lease(&client, &config).await {
                    tracing::warn!(node = %config.node_name, %error, "renewing the node lease failed");
                }
            }
        }
    }
}
