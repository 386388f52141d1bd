//! Pod subresources answered by the pod's node agent: `log` (streamed), and `exec`, `attach`,
//! `portforward` (the upgraded connection spliced through to the agent).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clusterd_apimachinery::status::{StatusError, StatusReason};
use http::{header, HeaderName, Request, Response};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::context::{self, Ctx};
use super::target_of;
use crate::authz::Attributes;
use crate::http::Body;

/// The kubelet port, when a Node does not report its own.
const DEFAULT_AGENT_PORT: u16 = 10250;

/// The most an agent's error answer may hold.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Headers of an upgrade that travel to the agent and back.
const UPGRADE_HEADERS: [&str; 8] = [
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "x-stream-protocol-version",
];

/// The client connection's pending upgrade, parked in the request's extensions for the handler.
#[derive(Clone, Default)]
pub struct UpgradeSlot(Arc<Mutex<Option<OnUpgrade>>>);

impl std::fmt::Debug for UpgradeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpgradeSlot")
    }
}

impl UpgradeSlot {
    /// Parks `upgrade`.
    pub fn new(upgrade: OnUpgrade) -> Self {
        Self(Arc::new(Mutex::new(Some(upgrade))))
    }

    fn take(&self) -> Option<OnUpgrade> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The pod the path names, or 404.
async fn pod(ctx: &Ctx<'_>) -> Result<Value, StatusError> {
    crate::objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
        .await?
        .map(|stored| stored.object)
        .ok_or_else(|| ctx.not_found())
}

/// The container the query names, or the pod's default one.
fn container_of(ctx: &Ctx<'_>, pod: &Value) -> String {
    match ctx.param("container") {
        "" => {
            let default = context::text(
                pod,
                "/metadata/annotations/kubectl.kubernetes.io~1default-container",
            );
            if default.is_empty() {
                context::text(pod, "/spec/containers/0/name").to_owned()
            } else {
                default.to_owned()
            }
        }
        name => name.to_owned(),
    }
}

/// Where the agent of node `name` listens: its InternalIP and kubelet endpoint port.
async fn agent_address(ctx: &Ctx<'_>, name: &str) -> Result<SocketAddr, StatusError> {
    let nodes = ctx
        .state
        .registry()
        .get("", "v1", "nodes")
        .cloned()
        .ok_or_else(StatusError::path_not_found)?;
    let target = target_of(&nodes);
    let node = crate::objects::get(&ctx.state.store, &target, &target.key("", name), name)
        .await?
        .ok_or_else(|| {
            StatusError::service_unavailable(format!("node \"{name}\" of the pod does not exist"))
        })?
        .object;
    agent_address_of(&node).ok_or_else(|| {
        StatusError::service_unavailable(format!(
            "node \"{name}\" reports no InternalIP address for its agent"
        ))
    })
}

/// The agent address a Node object reports: its InternalIP (or ExternalIP) and kubelet port.
pub fn agent_address_of(node: &Value) -> Option<SocketAddr> {
    let addresses = node["status"]["addresses"].as_array()?;
    let ip = ["InternalIP", "ExternalIP"].iter().find_map(|kind| {
        addresses
            .iter()
            .filter(|a| a["type"] == *kind)
            .find_map(|a| a["address"].as_str()?.parse::<IpAddr>().ok())
    })?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_AGENT_PORT);
    Some(SocketAddr::new(ip, port))
}

fn agent_unreachable(node: &str, error: &str) -> StatusError {
    StatusError::service_unavailable(format!(
        "the agent of node \"{node}\" did not answer: {error}"
    ))
}

/// Passes a non-success answer of the agent on (its Status JSON, or its text as a Status).
async fn agent_error(response: Response<hyper::body::Incoming>) -> Response<Body> {
    let code = response.status().as_u16();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = Limited::new(response.into_body(), MAX_ERROR_BYTES)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if serde_json::from_slice::<Value>(&body).is_ok_and(|v| v["kind"] == "Status") {
        let mut answer = Response::new(Body::full(body));
        *answer.status_mut() =
            http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_GATEWAY);
        if let Some(content_type) = content_type {
            answer
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        return answer;
    }
    let reason = if code == 501 {
        StatusReason::BadRequest
    } else {
        StatusReason::ServiceUnavailable
    };
    crate::http::status_response(&StatusError::new(
        code,
        reason,
        String::from_utf8_lossy(&body).trim().to_owned(),
    ))
}

fn agent_request(
    method: http::Method,
    path_and_query: &str,
) -> Result<Request<Empty<Bytes>>, StatusError> {
    Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(header::HOST, "clusterd-agent")
        .body(Empty::new())
        .map_err(|e| StatusError::internal(&format!("build agent request {path_and_query}: {e}")))
}

/// `GET pods/<name>/log`: the container's log from its node's agent, streamed as it comes.
pub async fn log(ctx: &Ctx<'_>) -> Result<Response<Body>, StatusError> {
    let pod = pod(ctx).await?;
    let container = container_of(ctx, &pod);
    let node = context::text(&pod, "/spec/nodeName").to_owned();
    if node.is_empty()
        || context::text(&pod, "/status/phase") == "Pending" && !has_started(&pod, &container)
    {
        return Err(StatusError::bad_request(format!(
            "container \"{container}\" in pod \"{}\" is waiting to start: ContainerCreating",
            ctx.info.name
        )));
    }
    let addr = agent_address(ctx, &node).await?;
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for key in [
            "follow",
            "previous",
            "timestamps",
            "tailLines",
            "sinceSeconds",
            "sinceTime",
            "limitBytes",
        ] {
            if let Some(value) = ctx.query.get(key) {
                query.append_pair(key, value);
            }
        }
        query.finish()
    };
    let path = format!(
        "/containerLogs/{}/{}/{container}?{query}",
        ctx.info.namespace, ctx.info.name,
    );
    let client = ctx.state.node_client().ok_or_else(no_client)?;
    let response = client
        .send(addr, agent_request(http::Method::GET, &path)?)
        .await
        .map_err(|e| agent_unreachable(&node, &e))?;
    if !response.status().is_success() {
        return Ok(agent_error(response).await);
    }
    let (tx, body) = Body::channel();
    let mut incoming = response.into_body();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = incoming.frame().await {
            if let Ok(data) = frame.into_data() {
                if tx.send(data).await.is_err() {
                    return;
                }
            }
        }
    });
    let mut answer = Response::new(body);
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(answer)
}

/// Whether the pod's status says `container` ran at some point (its log may exist).
fn has_started(pod: &Value, container: &str) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["name"] == container
                && (s["state"].get("running").is_some() || s["state"].get("terminated").is_some())
        })
}

fn no_client() -> StatusError {
    StatusError::service_unavailable("the api server has no client certificate for node agents")
}

/// `pods/<name>/exec|attach|portforward`: opens the same upgrade to the pod's agent and splices the
/// two connections once both sides switched protocols.
pub async fn connect(
    ctx: &Ctx<'_>,
    request: &http::request::Parts,
) -> Result<Response<Body>, StatusError> {
    // Upstream (1.35's AuthorizePodWebsocketUpgradeCreatePermission) also requires `create` for the
    // websocket GET, so that read-only users cannot run commands.
    if ctx.info.verb != "create" && !ctx.user.groups.iter().any(|g| g == "system:masters") {
        let mut info = ctx.info.clone();
        info.verb = "create".into();
        let attrs = Attributes::from_request(ctx.user, &info, info.authorization_name(ctx.query));
        if !ctx.state.rbac.authorize(&attrs) {
            return Err(StatusError::forbidden_for_user(
                &clusterd_apimachinery::status::ForbiddenRequest {
                    user: &attrs.user.name,
                    verb: "create",
                    resource: Some("pods"),
                    subresource: Some(ctx.info.subresource.as_str()),
                    group: "",
                    namespace: Some(ctx.info.namespace.as_str()),
                    name: &attrs.name,
                    path: &attrs.path,
                },
            ));
        }
    }
    let pod = pod(ctx).await?;
    let sub = ctx.info.subresource.as_str();
    let phase = context::text(&pod, "/status/phase");
    if matches!(phase, "Succeeded" | "Failed") {
        return Err(StatusError::bad_request(format!(
            "cannot {sub} into a container in a completed pod; current phase is {phase}"
        )));
    }
    let node = context::text(&pod, "/spec/nodeName").to_owned();
    if node.is_empty() {
        return Err(StatusError::bad_request(format!(
            "pod {} does not have a host assigned",
            ctx.info.name
        )));
    }
    let query = request.uri.query().unwrap_or_default();
    let path = match sub {
        "portforward" => format!(
            "/portForward/{}/{}?{query}",
            ctx.info.namespace, ctx.info.name
        ),
        _ => {
            let container = container_of(ctx, &pod);
            format!(
                "/{sub}/{}/{}/{container}?{query}",
                ctx.info.namespace, ctx.info.name
            )
        }
    };
    let addr = agent_address(ctx, &node).await?;
    let mut outgoing = agent_request(request.method.clone(), &path)?;
    for name in UPGRADE_HEADERS {
        for value in request.headers.get_all(name) {
            outgoing
                .headers_mut()
                .append(HeaderName::from_static(name), value.clone());
        }
    }
    let client = ctx.state.node_client().ok_or_else(no_client)?;
    let mut response = client
        .send(addr, outgoing)
        .await
        .map_err(|e| agent_unreachable(&node, &e))?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Ok(agent_error(response).await);
    }
    let client_upgrade = request
        .extensions
        .get::<UpgradeSlot>()
        .and_then(UpgradeSlot::take)
        .ok_or_else(|| {
            StatusError::bad_request(format!("{sub} needs an upgraded connection (WebSocket)"))
        })?;
    let mut answer = Response::new(Body::empty());
    *answer.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    for name in UPGRADE_HEADERS {
        for value in response.headers().get_all(name) {
            answer
                .headers_mut()
                .append(HeaderName::from_static(name), value.clone());
        }
    }
    let agent_upgrade = hyper::upgrade::on(&mut response);
    let pod_name = ctx.info.name.clone();
    tokio::spawn(async move {
        let (client, agent) = match tokio::try_join!(client_upgrade, agent_upgrade) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::info!(pod = %pod_name, %node, error = %e, "stream upgrade failed");
                return;
            }
        };
        let (mut client, mut agent) = (TokioIo::new(client), TokioIo::new(agent));
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut agent).await {
            tracing::debug!(pod = %pod_name, %node, error = %e, "stream ended");
        }
    });
    Ok(answer)
}
