//! `metrics.k8s.io/v1beta1` for `kubectl top pod|node`: PodMetrics and NodeMetrics read from every
//! node agent's `/stats/summary` (CPU and memory from CRI stats) at request time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use clusterd_apimachinery::registry::{CustomResource, CustomVersion, Scope};
use clusterd_apimachinery::status::StatusError;
use http::{header, Response};
use http_body_util::{BodyExt, Empty, Limited};
use serde::Deserialize;
use serde_json::{json, Value};

use super::context::{self, now_timestamp, Ctx};
use super::target_of;
use crate::http::{json_response, Body};
use crate::state::ApiState;

/// The metrics API group.
pub const GROUP: &str = "metrics.k8s.io";
/// Its only version kubectl 1.32 reads.
pub const VERSION: &str = "v1beta1";

/// How long one agent may take to answer.
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest stats answer read from an agent.
const MAX_STATS_BYTES: usize = 4 * 1024 * 1024;

/// The window metrics are reported for (the agents' CRI stats are rates over about that long).
const WINDOW: &str = "10s";

/// Registers PodMetrics (`pods`) and NodeMetrics (`nodes`) so discovery lists the group.
pub fn register(state: &ApiState) {
    let resource = |plural: &str, kind: &str, scope: Scope| CustomResource {
        group: GROUP.to_owned(),
        plural: plural.to_owned(),
        singular: String::new(),
        kind: kind.to_owned(),
        list_kind: format!("{kind}List"),
        scope,
        short_names: Vec::new(),
        categories: Vec::new(),
        versions: vec![CustomVersion {
            name: VERSION.to_owned(),
            status: false,
            scale: false,
            selectable_fields: Vec::new(),
        }],
    };
    for custom in [
        resource("pods", "PodMetrics", Scope::Namespaced),
        resource("nodes", "NodeMetrics", Scope::Cluster),
    ] {
        if let Err(e) = state.register_custom(&custom) {
            tracing::warn!(resource = %custom.plural, error = %e, "metrics api not served");
        }
    }
}

/// What an agent's `/stats/summary` says (see `clusterd_agent::server::StatsSummary`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Summary {
    node_usage_nano_cores: u64,
    node_working_set_bytes: u64,
    pods: Vec<PodUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PodUsage {
    namespace: String,
    name: String,
    containers: Vec<ContainerUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ContainerUsage {
    name: String,
    usage_nano_cores: u64,
    working_set_bytes: u64,
}

fn usage(nano_cores: u64, bytes: u64) -> Value {
    json!({"cpu": format!("{nano_cores}n"), "memory": format!("{}Ki", bytes / 1024)})
}

/// Serves get and list of PodMetrics and NodeMetrics.
pub async fn serve(ctx: &Ctx<'_>) -> Result<Response<Body>, StatusError> {
    if !matches!(ctx.info.verb.as_str(), "get" | "list") {
        return Err(StatusError::method_not_allowed(
            &ctx.target.resource,
            GROUP,
            &ctx.info.verb,
        ));
    }
    let nodes = list(ctx.state, "nodes", "").await?;
    let summaries = summaries(ctx, &nodes).await;
    let now = now_timestamp();
    let selectors = ctx.selectors()?;
    let mut items = Vec::new();
    if ctx.target.resource == "nodes" {
        for (node, summary) in &summaries {
            let name = context::text(node, "/metadata/name");
            let labels = node["metadata"]["labels"].clone();
            let item = json!({
                "metadata": {"name": name, "creationTimestamp": now, "labels": labels},
                "timestamp": now,
                "window": WINDOW,
                "usage": usage(summary.node_usage_nano_cores, summary.node_working_set_bytes),
            });
            if (ctx.info.name.is_empty() || ctx.info.name == name) && selectors.matches(&item) {
                items.push(item);
            }
        }
    } else {
        let pods: HashMap<(String, String), Value> = list(ctx.state, "pods", &ctx.info.namespace)
            .await?
            .into_iter()
            .map(|pod| {
                let key = (
                    context::text(&pod, "/metadata/namespace").to_owned(),
                    context::text(&pod, "/metadata/name").to_owned(),
                );
                (key, pod)
            })
            .collect();
        for (_, summary) in &summaries {
            for pod in &summary.pods {
                let Some(object) = pods.get(&(pod.namespace.clone(), pod.name.clone())) else {
                    continue;
                };
                if !ctx.info.name.is_empty() && ctx.info.name != pod.name {
                    continue;
                }
                let containers: Vec<Value> = pod
                    .containers
                    .iter()
                    .map(|c| json!({"name": c.name, "usage": usage(c.usage_nano_cores, c.working_set_bytes)}))
                    .collect();
                let item = json!({
                    "metadata": {
                        "name": pod.name,
                        "namespace": pod.namespace,
                        "creationTimestamp": now,
                        "labels": object["metadata"]["labels"].clone(),
                    },
                    "timestamp": now,
                    "window": WINDOW,
                    "containers": containers,
                });
                if selectors.matches(&item) {
                    items.push(item);
                }
            }
        }
    }
    let kind = ctx.target.kind.clone();
    if ctx.info.verb == "get" {
        let Some(mut item) = items.into_iter().next() else {
            return Err(StatusError::not_found(
                &ctx.target.resource,
                GROUP,
                &ctx.info.name,
            ));
        };
        item["kind"] = kind.into();
        item["apiVersion"] = format!("{GROUP}/{VERSION}").into();
        return Ok(json_response(200, &item));
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{kind}List"),
            "apiVersion": format!("{GROUP}/{VERSION}"),
            "metadata": {},
            "items": items,
        }),
    ))
}

/// Every stored object of core `resource` in `namespace` (all when empty).
async fn list(
    state: &ApiState,
    resource: &str,
    namespace: &str,
) -> Result<Vec<Value>, StatusError> {
    let info = state
        .registry()
        .get("", "v1", resource)
        .cloned()
        .ok_or_else(StatusError::path_not_found)?;
    let target = target_of(&info);
    crate::objects::list_filtered(&state.store, &target.prefix(namespace), 0, None, 0, |_| {
        true
    })
    .await
    .map(|page| page.items)
    .map_err(|e| target.store_error("", e))
}

/// The summaries of every node whose agent answered (a node that did not is left out, as
/// metrics-server does).
async fn summaries(ctx: &Ctx<'_>, nodes: &[Value]) -> Vec<(Value, Summary)> {
    let Some(client) = ctx.state.node_client() else {
        return Vec::new();
    };
    let mut tasks = Vec::new();
    for node in nodes {
        let name = context::text(node, "/metadata/name").to_owned();
        let Some(addr) = super::node_proxy::agent_address_of(node) else {
            continue;
        };
        let client = client.clone();
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            match tokio::time::timeout(AGENT_TIMEOUT, fetch(&client, addr)).await {
                Ok(Ok(summary)) => Some((node, summary)),
                Ok(Err(e)) => {
                    tracing::info!(node = %name, error = %e, "no stats from node agent");
                    None
                }
                Err(_) => {
                    tracing::info!(node = %name, "node agent stats timed out");
                    None
                }
            }
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        if let Ok(Some(pair)) = task.await {
            out.push(pair);
        }
    }
    out
}

async fn fetch(
    client: &crate::node_client::NodeClient,
    addr: SocketAddr,
) -> Result<Summary, String> {
    let request = http::Request::get("/stats/summary")
        .header(header::HOST, "clusterd-agent")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = client.send(addr, request).await?;
    let code = response.status();
    let body = Limited::new(response.into_body(), MAX_STATS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("read stats from {addr}: {e}"))?
        .to_bytes();
    if !code.is_success() {
        return Err(format!(
            "stats from {addr}: {code}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("decode stats from {addr}: {e}"))
}
