//! Update: the stored object merged with the request as upstream's update strategies do (system
//! metadata kept, status subresource split, generation bumps), validated, written with optimistic
//! concurrency, and deleted when its last finalizer goes.

use clusterd_apimachinery::status::StatusError;
use clusterd_apimachinery::{defaulting, validation};
use http::Response;
use serde_json::{json, Value};

use super::context::{metadata_mut, text, with_type, Ctx};
use super::write::{
    add_warnings, check_namespace, check_strict, check_type, invalid, track_fields,
    CONFLICT_RETRIES,
};
use super::{csr, services};
use crate::http::{json_response, Body};
use crate::objects::{self, encode, set_resource_version, Stored, Target};

/// Merges a requested new state into the stored object as upstream's update strategies do: system
/// metadata is kept, the status subresource writes only status, the main resource keeps status,
/// and the generation moves when the spec changes.
pub fn merge_update(ctx: &Ctx<'_>, old: &Value, new: Value) -> Value {
    if csr::is_csr(&ctx.target) {
        let requested = new.clone();
        let merged = merge_generic(ctx, old, new);
        return csr::merge(&ctx.info.subresource, old, &requested, merged);
    }
    merge_generic(ctx, old, new)
}

fn merge_generic(ctx: &Ctx<'_>, old: &Value, mut new: Value) -> Value {
    let status_write = ctx.info.subresource == "status";
    if status_write {
        let mut merged = old.clone();
        merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        if merged["status"].is_null() {
            if let Some(map) = merged.as_object_mut() {
                map.remove("status");
            }
        }
        if let Some(fields) = new.pointer("/metadata/managedFields") {
            metadata_mut(&mut merged).insert("managedFields".into(), fields.clone());
        }
        return merged;
    }
    {
        let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
        let meta = metadata_mut(&mut new);
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        if !meta.contains_key("managedFields") {
            if let Some(fields) = old_meta.get("managedFields") {
                meta.insert("managedFields".into(), fields.clone());
            }
        }
    }
    if ctx.target.kind == "Service" && ctx.target.group.is_empty() {
        services::keep_addresses(old, &mut new);
    }
    if ctx.target.has_status {
        match old.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => {
                if let Some(map) = new.as_object_mut() {
                    map.remove("status");
                }
            }
        }
    }
    if let Some(generation) = old.pointer("/metadata/generation").and_then(Value::as_i64) {
        let spec_changed = if ctx.target.has_status {
            old.get("spec") != new.get("spec")
        } else {
            strip_meta_and_status(old) != strip_meta_and_status(&new)
        };
        if spec_changed {
            metadata_mut(&mut new).insert("generation".into(), (generation + 1).into());
        }
    }
    new
}

fn strip_meta_and_status(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    object
}

/// What a guarded write did.
#[derive(Debug)]
pub enum Written {
    /// The new object (stored, or as it would be under dry run).
    Object(Value),
    /// The object lost a race with another writer and the caller may retry.
    Retry,
}

/// Validates and stores `new` over `existing`: 409 when the request's resourceVersion is stale,
/// `Retry` when another writer won the race without one, and deletion when the last finalizer of
/// a deleted object goes.
pub async fn write_update(
    ctx: &Ctx<'_>,
    existing: &Stored,
    new: Value,
) -> Result<Written, StatusError> {
    let name = text(&existing.object, "/metadata/name").to_owned();
    let requested_rv = text(&new, "/metadata/resourceVersion").to_owned();
    if !requested_rv.is_empty() && requested_rv != existing.revision.to_string() {
        return Err(StatusError::conflict(
            &ctx.target.resource,
            &ctx.target.group,
            &name,
        ));
    }
    let mut new = new;
    defaulting::apply_defaults(&mut new);
    let mut errors = validation::validate_update(&existing.object, &new);
    if csr::is_csr(&ctx.target) {
        errors.extend(csr::validate_update(&existing.object, &new));
    }
    if !errors.is_empty() {
        return Err(invalid(&ctx.target, &name, &errors));
    }
    let mut new = track_fields(ctx, Some(&existing.object), new)?;
    set_resource_version(&mut new, existing.revision);
    if new == existing.object || ctx.dry_run() {
        return Ok(Written::Object(with_type(new, &ctx.target)));
    }
    let key = ctx.target.key(text(&new, "/metadata/namespace"), &name);
    let finalized = new.pointer("/metadata/deletionTimestamp").is_some()
        && new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        && !is_graceful_pod(&ctx.target, &new);
    if finalized {
        return match ctx.state.store.delete(&key, Some(existing.revision)).await {
            Ok(_) => Ok(Written::Object(with_type(new, &ctx.target))),
            Err(clusterd_store::Error::Conflict { .. }) if requested_rv.is_empty() => {
                Ok(Written::Retry)
            }
            Err(e) => Err(ctx.target.store_error(&name, e)),
        };
    }
    match ctx
        .state
        .store
        .update(&key, encode(&new), existing.revision)
        .await
    {
        Ok(revision) => {
            set_resource_version(&mut new, revision);
            Ok(Written::Object(with_type(new, &ctx.target)))
        }
        Err(clusterd_store::Error::Conflict { .. }) if requested_rv.is_empty() => {
            Ok(Written::Retry)
        }
        Err(e) => Err(ctx.target.store_error(&name, e)),
    }
}

/// A pod in its grace period stays until its node agent confirms the containers stopped.
fn is_graceful_pod(target: &Target, object: &Value) -> bool {
    target.kind == "Pod"
        && target.group.is_empty()
        && !text(object, "/spec/nodeName").is_empty()
        && object
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 0
}

/// `PUT .../<resource>/<name>[/status]`.
pub async fn update(ctx: &Ctx<'_>, body: Value) -> Result<Response<Body>, StatusError> {
    let mut body = body;
    check_type(&ctx.target, &mut body)?;
    let warnings = check_strict(ctx, &body)?;
    check_namespace(ctx, &mut body)?;
    let body_name = text(&body, "/metadata/name").to_owned();
    if body_name.is_empty() {
        metadata_mut(&mut body).insert("name".into(), ctx.info.name.clone().into());
    } else if body_name != ctx.info.name {
        return Err(StatusError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.info.name
        )));
    }
    let precondition = !text(&body, "/metadata/resourceVersion").is_empty();
    for _ in 0..CONFLICT_RETRIES {
        let existing = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
            .await?
            .ok_or_else(|| ctx.not_found())?;
        let mut new = merge_update(ctx, &existing.object, body.clone());
        if !precondition {
            metadata_mut(&mut new).remove("resourceVersion");
        }
        if let Written::Object(object) = write_update(ctx, &existing, new).await? {
            let mut response = json_response(200, &object);
            add_warnings(&mut response, &warnings);
            return Ok(response);
        }
    }
    Err(StatusError::conflict(
        &ctx.target.resource,
        &ctx.target.group,
        &ctx.info.name,
    ))
}
