//! Request handling: authentication, authorization, routing and the per-verb handlers.

mod auth;
mod context;
mod csr;
mod delete;
mod discovery;
mod info;
mod metrics_api;
mod node_proxy;
mod node_restriction;
mod openapi;
mod patch;
mod pods;
mod read;
mod reviews;
mod scale;
mod schemas;
mod services;
mod tables;
mod update;
mod watch;
mod write;

pub use auth::{authenticate, authenticate_token, is_public_path};
pub use context::{now_timestamp, Ctx};
pub use info::GIT_VERSION;
pub use metrics_api::register as register_metrics_api;
pub use node_proxy::UpgradeSlot;

use std::sync::Arc;
use std::time::Instant;

use clusterd_apimachinery::registry::ResourceInfo;
use clusterd_apimachinery::status::{ForbiddenRequest, StatusError};
use http::{header, Method, Request, Response};
use hyper::body::Incoming;

use crate::authn::UserInfo;
use crate::authz::Attributes;
use crate::http::{media_type, query_params, read_body, status_response, Body};
use crate::objects::Target;
use crate::request_info::{is_true, RequestInfo};
use crate::state::ApiState;

use context::decode_body;

/// The handler's view of a registry entry.
pub fn target_of(info: &ResourceInfo) -> Target {
    Target {
        group: info.group.clone(),
        version: info.version.clone(),
        resource: info.resource.clone(),
        kind: info.kind.clone(),
        namespaced: info.namespaced(),
        has_status: info.has_status_subresource(),
        has_scale: info.subresource("scale").is_some(),
    }
}

/// Answers one request from a connection whose client certificate authenticated
/// `certificate_user` (if any).
pub async fn handle(
    state: Arc<ApiState>,
    certificate_user: Option<Arc<UserInfo>>,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = query_params(request.uri().query());
    let info = RequestInfo::parse(method.as_str(), &path, &query);
    let (mut parts, incoming) = request.into_parts();
    // exec/attach/portforward splice the upgraded connection; park it where their handler finds it.
    if let Some(upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
        parts.extensions.insert(UpgradeSlot::new(upgrade));
    }
    // The body is read before anything can refuse the request, so the connection stays usable.
    let body = if matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        read_body(incoming).await
    } else {
        Ok(bytes::Bytes::new())
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = match authenticate(
        &state,
        certificate_user.as_deref(),
        authorization.as_deref(),
    )
    .await
    {
        Err(()) => status_response(&StatusError::unauthorized()),
        Ok(None) if !is_public_path(&path) => status_response(&StatusError::unauthorized()),
        Ok(user) => {
            let user = user.unwrap_or_else(UserInfo::anonymous);
            let attrs = Attributes::from_request(&user, &info, info.authorization_name(&query));
            if !user.is_anonymous() && !state.rbac.authorize(&attrs) {
                status_response(&forbidden(&attrs))
            } else {
                route(&state, &user, &info, &query, &parts, body)
                    .await
                    .unwrap_or_else(|e| status_response(&e))
            }
        }
    };
    let verb = metric_verb(&info, &method);
    state.metrics.record(
        &verb,
        &info.api_group,
        &info.resource,
        response.status().as_u16(),
        started.elapsed(),
    );
    tracing::debug!(method = %method, path = %path, code = response.status().as_u16(), "request");
    response
}

fn forbidden(attrs: &Attributes) -> StatusError {
    StatusError::forbidden_for_user(&ForbiddenRequest {
        user: &attrs.user.name,
        verb: &attrs.verb,
        resource: attrs.resource_request.then_some(attrs.resource.as_str()),
        subresource: Some(attrs.subresource.as_str()),
        group: &attrs.api_group,
        namespace: Some(attrs.namespace.as_str()),
        name: &attrs.name,
        path: &attrs.path,
    })
}

fn metric_verb(info: &RequestInfo, method: &Method) -> String {
    if !info.is_resource_request {
        return method.as_str().to_owned();
    }
    match info.verb.as_str() {
        "create" => "POST".into(),
        "update" => "PUT".into(),
        other => other.to_ascii_uppercase(),
    }
}

async fn route(
    state: &Arc<ApiState>,
    user: &UserInfo,
    info: &RequestInfo,
    query: &std::collections::HashMap<String, String>,
    request: &http::request::Parts,
    body: Result<bytes::Bytes, StatusError>,
) -> Result<Response<Body>, StatusError> {
    let path = info.path.as_str();
    if !info.is_resource_request {
        if method_is_read(&request.method) {
            if is_public_path(path) {
                return Ok(if path.starts_with("/version") {
                    info::version()
                } else {
                    info::health(path, query.contains_key("verbose"))
                });
            }
            if path == "/metrics" {
                return Ok(info::metrics(state));
            }
            if path == "/openapi/v2" {
                return Ok(openapi::v2());
            }
            let registry = state.registry();
            if path.starts_with("/openapi/v3") {
                return openapi::v3(&registry, path).ok_or_else(StatusError::path_not_found);
            }
            if let Some(response) =
                discovery::discovery(&registry, path, &request.headers, &state.advertise_address)
            {
                return response;
            }
        }
        return Err(StatusError::path_not_found());
    }
    let resource = state
        .registry()
        .get(&info.api_group, &info.api_version, &info.resource)
        .cloned()
        .ok_or_else(StatusError::path_not_found)?;
    if !info.subresource.is_empty() && resource.subresource(&info.subresource).is_none() {
        return Err(StatusError::path_not_found());
    }
    if info.subresource.is_empty() && !resource.supports(&info.verb) {
        let action = match info.verb.as_str() {
            "create" => "create",
            "update" => "update",
            "patch" => "patch",
            "delete" | "deletecollection" => "delete",
            _ => "list",
        };
        return Err(StatusError::method_not_allowed(
            &resource.resource,
            &resource.group,
            action,
        ));
    }
    if resource.namespaced()
        && info.namespace.is_empty()
        && !matches!(info.verb.as_str(), "list" | "watch")
    {
        return Err(StatusError::path_not_found());
    }
    let headers = &request.headers;
    let method = request.method.clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let media = media_type(headers);
    let body = body?;
    tracing::debug!(content_type = %content_type, bytes = body.len(), "request body");
    let ctx = Ctx {
        state,
        user,
        info,
        query,
        headers,
        target: target_of(&resource),
        resource: resource.clone(),
    };
    node_restriction::check(&ctx, &body, &media).await?;
    let sub = info.subresource.as_str();
    let response = match (info.verb.as_str(), sub) {
        _ if ctx.target.group == metrics_api::GROUP => metrics_api::serve(&ctx).await?,
        (_, "scale") => scale::scale(&ctx, &method, &body, &content_type).await?,
        ("get" | "create", "exec" | "attach" | "portforward") => {
            node_proxy::connect(&ctx, request).await?
        }
        ("get", "" | "status" | "approval") => {
            if is_true(query.get("watch")) {
                watch::watch(&ctx, state.clone()).await?
            } else {
                read::get(&ctx).await?
            }
        }
        ("list", "") => read::list(&ctx).await?,
        ("watch", "") => watch::watch(&ctx, state.clone()).await?,
        ("create", _) => {
            let object = decode_body(&body, &media)?;
            if let Some(response) = reviews::review(&ctx, &object).await {
                response?
            } else {
                match sub {
                    "" => {
                        let response = write::create(&ctx, object).await?;
                        after_write(state, &ctx, &response);
                        response
                    }
                    "binding" => pods::bind(&ctx, &object).await?,
                    "eviction" => pods::evict(&ctx).await?,
                    _ => {
                        return Err(StatusError::method_not_allowed(
                            &resource.resource,
                            &resource.group,
                            "create",
                        ))
                    }
                }
            }
        }
        ("update", "" | "status" | "approval") => {
            let response = update::update(&ctx, decode_body(&body, &media)?).await?;
            after_write(state, &ctx, &response);
            response
        }
        ("patch", "" | "status" | "approval") => {
            let response = patch::patch(&ctx, &body, &content_type).await?;
            after_write(state, &ctx, &response);
            response
        }
        ("delete", "") => {
            let options = delete::DeleteOptions::parse(&ctx, &body)?;
            let response = delete::delete(&ctx, &options).await?;
            if ctx.target.kind == "CustomResourceDefinition" && !ctx.dry_run() {
                state.forget_crd(&ctx.info.name);
            }
            response
        }
        ("deletecollection", "") => {
            let options = delete::DeleteOptions::parse(&ctx, &body)?;
            delete::delete_collection(&ctx, &options).await?
        }
        ("get", "log") => node_proxy::log(&ctx).await?,
        _ => {
            return Err(StatusError::bad_request(format!(
                "the server does not serve {} on {}/{sub} yet",
                info.verb, resource.resource
            )))
        }
    };
    Ok(response)
}

fn method_is_read(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// Keeps the registry in step with CustomResourceDefinitions written through the API.
fn after_write(state: &Arc<ApiState>, ctx: &Ctx<'_>, _response: &Response<Body>) {
    if ctx.target.kind == "CustomResourceDefinition"
        && ctx.target.group == "apiextensions.k8s.io"
        && !ctx.dry_run()
    {
        let state = state.clone();
        let name = if ctx.info.name.is_empty() {
            None
        } else {
            Some(ctx.info.name.clone())
        };
        tokio::spawn(async move { state.reload_crds(name.as_deref()).await });
    }
}
