//! Pod subresources served by the API server itself: `binding` (what a scheduler posts),
//! and `eviction` (`log`, `exec`, `attach` and `portforward` go to the node agent: `node_proxy`).

use clusterd_apimachinery::status::StatusError;
use http::Response;
use serde_json::{json, Value};

use super::context::{self, now_timestamp, Ctx};
use super::{delete, write};
use crate::http::Body;

/// `POST pods/<name>/binding`: sets the pod's node (what a scheduler does).
pub async fn bind(ctx: &Ctx<'_>, binding: &Value) -> Result<Response<Body>, StatusError> {
    let node = context::text(binding, "/target/name").to_owned();
    if node.is_empty() {
        return Err(StatusError::bad_request("binding target.name is required"));
    }
    for _ in 0..write::CONFLICT_RETRIES {
        let existing =
            crate::objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
                .await?
                .ok_or_else(|| ctx.not_found())?;
        let current = context::text(&existing.object, "/spec/nodeName");
        if !current.is_empty() {
            return Err(StatusError::conflict_with(
                "pods/binding",
                "",
                &ctx.info.name,
                &format!(
                    "pod {} is already assigned to node \"{current}\"",
                    ctx.info.name
                ),
            ));
        }
        let mut pod = existing.object.clone();
        if !pod.get("spec").is_some_and(Value::is_object) {
            return Err(StatusError::bad_request("the pod has no spec to bind"));
        }
        if !pod.get("status").is_some_and(Value::is_object) {
            pod["status"] = json!({});
        }
        pod["spec"]["nodeName"] = node.clone().into();
        let now = now_timestamp();
        let conditions = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut conditions: Vec<Value> = conditions
            .into_iter()
            .filter(|c| c["type"] != "PodScheduled")
            .collect();
        conditions.push(json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": now, "lastProbeTime": null}));
        pod["status"]["conditions"] = conditions.into();
        match ctx
            .state
            .store
            .update(&ctx.key(), crate::objects::encode(&pod), existing.revision)
            .await
        {
            Ok(_) => {
                return Ok(crate::http::json_response(
                    201,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                ))
            }
            Err(clusterd_store::Error::Conflict { .. }) => continue,
            Err(e) => return Err(ctx.target.store_error(&ctx.info.name, e)),
        }
    }
    Err(StatusError::conflict(
        &ctx.target.resource,
        &ctx.target.group,
        &ctx.info.name,
    ))
}

/// `POST pods/<name>/eviction`: deletes the pod gracefully (no disruption budgets yet).
pub async fn evict(ctx: &Ctx<'_>) -> Result<Response<Body>, StatusError> {
    let existing = crate::objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
        .await?
        .ok_or_else(|| ctx.not_found())?;
    delete::delete_object(
        ctx.state,
        &ctx.target,
        existing,
        &delete::DeleteOptions::default(),
        ctx.dry_run(),
    )
    .await?;
    Ok(crate::http::json_response(
        201,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}
