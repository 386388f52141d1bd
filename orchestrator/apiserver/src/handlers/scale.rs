//! The `scale` subresource of deployments, replicasets and statefulsets: an `autoscaling/v1 Scale`
//! view of `spec.replicas`, read with GET and written with PUT or PATCH.

use clusterd_apimachinery::patch::{self, PatchType};
use clusterd_apimachinery::status::StatusError;
use http::Response;
use serde_json::{json, Value};

use super::context::{decode_body, text, with_type, Ctx};
use super::write::CONFLICT_RETRIES;
use crate::http::{json_response, Body};
use crate::objects::{self, encode, set_resource_version, Stored};

/// The Scale of a stored workload.
pub fn scale_of(stored: &Stored) -> Value {
    let object = &stored.object;
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut metadata = json!({
        "name": text(object, "/metadata/name"),
        "uid": text(object, "/metadata/uid"),
        "resourceVersion": stored.revision.to_string(),
        "creationTimestamp": object.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
    });
    let namespace = text(object, "/metadata/namespace");
    if !namespace.is_empty() {
        metadata["namespace"] = namespace.into();
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

/// `GET|PUT|PATCH .../<workload>/<name>/scale`.
pub async fn scale(
    ctx: &Ctx<'_>,
    method: &http::Method,
    body: &[u8],
    content_type: &str,
) -> Result<Response<Body>, StatusError> {
    if !ctx.target.has_scale {
        return Err(StatusError::path_not_found());
    }
    for _ in 0..CONFLICT_RETRIES {
        let existing = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
            .await?
            .ok_or_else(|| ctx.not_found())?;
        let current = scale_of(&existing);
        if *method == http::Method::GET {
            return Ok(json_response(200, &current));
        }
        let wanted = if *method == http::Method::PUT {
            decode_body(body, "application/json")?
        } else {
            let patch_type = PatchType::from_content_type(content_type)
                .map_err(|e| StatusError::unsupported_media_type(&[&e.to_string()]))?;
            let patch_body: Value = serde_json::from_slice(body)
                .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))?;
            patch::apply_patch(patch_type, &current, &patch_body, "autoscaling", "Scale")
                .map_err(|e| StatusError::bad_request(e.to_string()))?
        };
        let requested_rv = text(&wanted, "/metadata/resourceVersion");
        if !requested_rv.is_empty() && requested_rv != existing.revision.to_string() {
            return Err(StatusError::conflict(
                &ctx.target.resource,
                &ctx.target.group,
                &ctx.info.name,
            ));
        }
        let replicas = wanted
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| StatusError::bad_request("Scale spec.replicas must be an integer"))?;
        if replicas < 0 {
            return Err(StatusError::new(
                422,
                clusterd_apimachinery::status::StatusReason::Invalid,
                format!("Scale.autoscaling \"{}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0", ctx.info.name),
            ));
        }
        let mut object = existing.object.clone();
        if !object.get("spec").is_some_and(Value::is_object) {
            return Err(StatusError::internal(&format!(
                "stored {} {} has no spec object",
                ctx.target.resource, ctx.info.name
            )));
        }
        if object.pointer("/spec/replicas").and_then(Value::as_i64) == Some(replicas)
            || ctx.dry_run()
        {
            let mut stored = existing.clone();
            stored.object["spec"]["replicas"] = replicas.into();
            return Ok(json_response(200, &scale_of(&stored)));
        }
        object["spec"]["replicas"] = replicas.into();
        if let Some(generation) = object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
        {
            object["metadata"]["generation"] = (generation + 1).into();
        }
        match ctx
            .state
            .store
            .update(&ctx.key(), encode(&object), existing.revision)
            .await
        {
            Ok(revision) => {
                set_resource_version(&mut object, revision);
                let stored = Stored {
                    object: with_type(object, &ctx.target),
                    revision,
                };
                return Ok(json_response(200, &scale_of(&stored)));
            }
            Err(clusterd_store::Error::Conflict { .. }) if requested_rv.is_empty() => continue,
            Err(e) => return Err(ctx.target.store_error(&ctx.info.name, e)),
        }
    }
    Err(StatusError::conflict(
        &ctx.target.resource,
        &ctx.target.group,
        &ctx.info.name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_shows_replicas_and_the_selector() {
        let stored = Stored {
            object: json!({
                "metadata": {"name": "web", "namespace": "a", "uid": "u"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
                "status": {"replicas": 1},
            }),
            revision: 7,
        };
        let scale = scale_of(&stored);
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["apiVersion"], "autoscaling/v1");
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(
            scale["status"],
            json!({"replicas": 1, "selector": "app=web"})
        );
        assert_eq!(scale["metadata"]["resourceVersion"], "7");
    }
}
