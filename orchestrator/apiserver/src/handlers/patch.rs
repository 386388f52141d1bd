//! PATCH: JSON patch, merge patch, strategic merge patch and server-side apply (which may create),
//! on the object or its status, retried when another writer wins the race.

use clusterd_apimachinery::patch::{self, ApplyOptions, PatchType};
use clusterd_apimachinery::status::{StatusCause, StatusDetails, StatusError, StatusReason};
use http::Response;
use serde_json::Value;
use time::OffsetDateTime;

use super::context::{decode_body, metadata_mut, Ctx};
use super::update::{merge_update, write_update, Written};
use super::write::{self, add_warnings, check_strict, CONFLICT_RETRIES};
use crate::http::{json_response, Body};
use crate::objects;

/// A patch failure as a Status (SSA conflicts keep upstream's per-field causes).
fn patch_error(error: patch::Error) -> StatusError {
    let code = error.http_code();
    let reason = match code {
        409 => StatusReason::Conflict,
        415 => StatusReason::UnsupportedMediaType,
        422 => StatusReason::Invalid,
        _ => StatusReason::BadRequest,
    };
    let mut status = StatusError::new(code, reason, error.to_string());
    if let patch::Error::Conflicts(conflicts) = &error {
        status.details = Some(StatusDetails {
            causes: conflicts
                .iter()
                .map(|c| StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message: c.cause_message(),
                    field: c.field.clone(),
                })
                .collect(),
            ..StatusDetails::default()
        });
    }
    status
}

/// `PATCH .../<resource>/<name>[/status]` with the patch type named by `content_type`.
pub async fn patch(
    ctx: &Ctx<'_>,
    body: &[u8],
    content_type: &str,
) -> Result<Response<Body>, StatusError> {
    let patch_type = PatchType::from_content_type(content_type).map_err(|_| {
        StatusError::unsupported_media_type(&[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
            "application/strategic-merge-patch+json",
        ])
    })?;
    let media = if patch_type == PatchType::Apply {
        "application/yaml"
    } else {
        "application/json"
    };
    let patch_body: Value = if patch_type == PatchType::Json {
        serde_json::from_slice(body)
            .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))?
    } else {
        decode_body(body, media)?
    };
    let force = ctx.param("force") == "true";
    for _ in 0..CONFLICT_RETRIES {
        let existing =
            objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name).await?;
        let Some(existing) = existing else {
            if patch_type != PatchType::Apply || !ctx.info.subresource.is_empty() {
                return Err(ctx.not_found());
            }
            return apply_create(ctx, &patch_body, force).await;
        };
        let patched = if patch_type == PatchType::Apply {
            let mut applied = patch_body.clone();
            write::check_type(&ctx.target, &mut applied)?;
            check_strict(ctx, &applied)?;
            let manager = ctx.param("fieldManager");
            let api_version = ctx.target.api_version();
            let options = ApplyOptions {
                manager,
                force,
                kind: &ctx.target.kind,
                api_version: &api_version,
                subresource: (!ctx.info.subresource.is_empty())
                    .then_some(ctx.info.subresource.as_str()),
                now: OffsetDateTime::now_utc(),
            };
            patch::server_side_apply(Some(&existing.object), &applied, &options)
                .map_err(patch_error)?
        } else {
            patch::apply_patch(
                patch_type,
                &existing.object,
                &patch_body,
                &ctx.target.group,
                &ctx.target.kind,
            )
            .map_err(patch_error)?
        };
        let mut patched = patched;
        write::check_type(&ctx.target, &mut patched)?;
        let warnings = if patch_type == PatchType::Apply {
            Vec::new()
        } else {
            check_strict(ctx, &patched)?
        };
        let precondition = patched.pointer("/metadata/resourceVersion")
            != existing.object.pointer("/metadata/resourceVersion");
        let mut new = merge_update(ctx, &existing.object, patched);
        if !precondition {
            // The patched object carries the resourceVersion it was read at; unless the patch
            // itself named one, a lost race re-reads and re-applies the patch instead of failing.
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

/// Server-side apply of an object that does not exist yet: create it (201).
async fn apply_create(
    ctx: &Ctx<'_>,
    applied: &Value,
    force: bool,
) -> Result<Response<Body>, StatusError> {
    let mut applied = applied.clone();
    write::check_type(&ctx.target, &mut applied)?;
    let meta = metadata_mut(&mut applied);
    if meta
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        meta.insert("name".into(), ctx.info.name.clone().into());
    }
    let manager = ctx.param("fieldManager");
    let api_version = ctx.target.api_version();
    let options = ApplyOptions {
        manager,
        force,
        kind: &ctx.target.kind,
        api_version: &api_version,
        subresource: None,
        now: OffsetDateTime::now_utc(),
    };
    let object = patch::server_side_apply(None, &applied, &options).map_err(patch_error)?;
    let managed = object.pointer("/metadata/managedFields").cloned();
    let (mut object, warnings) = write::prepare_create(ctx, object).await?;
    if let Some(managed) = managed {
        metadata_mut(&mut object).insert("managedFields".into(), managed);
    }
    let (object, code) = write::store_new(ctx, object).await?;
    let mut response = json_response(code, &object);
    add_warnings(&mut response, &warnings);
    Ok(response)
}
