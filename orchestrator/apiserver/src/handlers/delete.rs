//! DELETE of one object (finalizers, graceful pod deletion, namespace contents) and of collections.

use clusterd_apimachinery::status::{delete_success, StatusError};
use http::Response;
use serde_json::{json, Value};

use super::context::{metadata_mut, now_timestamp, text, timestamp_in, with_type, Ctx};
use super::write::CONFLICT_RETRIES;
use crate::http::{json_response, Body};
use crate::objects::{self, encode, list_filtered, set_resource_version, Stored, Target};

/// The options of a delete: body `DeleteOptions` (kind optional) and query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `propagationPolicy` (or the deprecated `orphanDependents`): `Orphan`, `Foreground` or
    /// `Background` (the default).
    pub propagation: Option<String>,
}

impl DeleteOptions {
    /// Reads the body (possibly empty) and query parameters.
    pub fn parse(ctx: &Ctx<'_>, body: &[u8]) -> Result<Self, StatusError> {
        let mut options = Self::default();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let value: Value = if body.starts_with(b"k8s\0") {
                crate::protobuf::decode(body)
            } else {
                serde_json::from_slice(body).map_err(|e| e.to_string())
            }
            .map_err(|e| StatusError::bad_request(format!("couldn't decode DeleteOptions: {e}")))?;
            options.grace_period = value.get("gracePeriodSeconds").and_then(Value::as_i64);
            options.uid = value
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_owned);
            options.resource_version = value
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned);
            options.propagation = value
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(
                    || match value.get("orphanDependents").and_then(Value::as_bool) {
                        Some(true) => Some("Orphan".to_owned()),
                        Some(false) => Some("Background".to_owned()),
                        None => None,
                    },
                );
        }
        if let Ok(grace) = ctx.param("gracePeriodSeconds").parse::<i64>() {
            options.grace_period = Some(grace);
        }
        let query = ctx.param("propagationPolicy");
        if !query.is_empty() {
            options.propagation = Some(query.to_owned());
        }
        match options.propagation.as_deref() {
            None | Some("Orphan" | "Foreground" | "Background") => Ok(options),
            Some(other) => Err(StatusError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }

    /// The finalizer that makes the garbage collector orphan or delete dependents first, as
    /// upstream adds it: `orphan` for Orphan, `foregroundDeletion` for Foreground.
    fn propagation_finalizer(&self) -> Option<&'static str> {
        match self.propagation.as_deref() {
            Some("Orphan") => Some("orphan"),
            Some("Foreground") => Some("foregroundDeletion"),
            _ => None,
        }
    }
}

/// `DELETE .../<resource>/<name>`.
pub async fn delete(ctx: &Ctx<'_>, options: &DeleteOptions) -> Result<Response<Body>, StatusError> {
    let existing = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
        .await?
        .ok_or_else(|| ctx.not_found())?;
    let (object, code) =
        delete_object(ctx.state, &ctx.target, existing, options, ctx.dry_run()).await?;
    Ok(json_response(code, &object))
}

/// The request's preconditions (`preconditions.uid`, `preconditions.resourceVersion`) against the
/// object as stored now: 409 when either differs.
fn check_preconditions(
    target: &Target,
    existing: &Stored,
    options: &DeleteOptions,
) -> Result<(), StatusError> {
    let name = text(&existing.object, "/metadata/name").to_owned();
    if let Some(uid) = &options.uid {
        if text(&existing.object, "/metadata/uid") != uid {
            return Err(StatusError::conflict_with(
                &target.resource,
                &target.group,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    text(&existing.object, "/metadata/uid")
                ),
            ));
        }
    }
    if let Some(rv) = &options.resource_version {
        if *rv != existing.revision.to_string() {
            return Err(StatusError::conflict_with(
                &target.resource,
                &target.group,
                &name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    existing.revision
                ),
            ));
        }
    }
    Ok(())
}

/// Deletes one stored object: marks it (finalizers, pod grace) or removes it. Returns the response
/// body (the object, or a Success Status) and its code. When another writer changes the object
/// first, it is read again and the deletion retried (preconditions checked each time), as
/// upstream's guaranteed update does.
pub async fn delete_object(
    state: &crate::state::ApiState,
    target: &Target,
    existing: Stored,
    options: &DeleteOptions,
    dry_run: bool,
) -> Result<(Value, u16), StatusError> {
    let name = text(&existing.object, "/metadata/name").to_owned();
    let key = target.key(text(&existing.object, "/metadata/namespace"), &name);
    let mut existing = existing;
    for _ in 0..CONFLICT_RETRIES {
        check_preconditions(target, &existing, options)?;
        if let Some(done) = delete_once(state, target, existing, options, dry_run).await? {
            return Ok(done);
        }
        existing = objects::get(&state.store, target, &key, &name)
            .await?
            .ok_or_else(|| StatusError::not_found(&target.resource, &target.group, &name))?;
    }
    Err(StatusError::conflict(
        &target.resource,
        &target.group,
        &name,
    ))
}

/// One attempt of [`delete_object`]; `None` when another writer won the race.
async fn delete_once(
    state: &crate::state::ApiState,
    target: &Target,
    existing: Stored,
    options: &DeleteOptions,
    dry_run: bool,
) -> Result<Option<(Value, u16)>, StatusError> {
    let mut existing = existing;
    if let Some(finalizer) = options.propagation_finalizer() {
        if existing
            .object
            .pointer("/metadata/deletionTimestamp")
            .is_none()
        {
            let finalizers = metadata_mut(&mut existing.object)
                .entry("finalizers")
                .or_insert_with(|| json!([]));
            if let Some(list) = finalizers.as_array_mut() {
                if !list.iter().any(|f| f == finalizer) {
                    list.push(finalizer.into());
                }
            }
        }
    }
    let name = text(&existing.object, "/metadata/name").to_owned();
    let namespace = text(&existing.object, "/metadata/namespace").to_owned();
    let key = target.key(&namespace, &name);
    let has_finalizers = existing
        .object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let is_namespace = target.kind == "Namespace" && target.group.is_empty();
    let grace = if target.kind == "Pod"
        && target.group.is_empty()
        && !text(&existing.object, "/spec/nodeName").is_empty()
    {
        options
            .grace_period
            .or_else(|| {
                existing
                    .object
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30)
    } else {
        0
    };
    let returns_object =
        target.group.is_empty() && matches!(target.kind.as_str(), "Pod" | "Service" | "Namespace");
    if has_finalizers || grace > 0 {
        if existing
            .object
            .pointer("/metadata/deletionTimestamp")
            .is_some()
            && grace == 0
        {
            return Ok(Some((with_type(existing.object, target), 200)));
        }
        let mut marked = existing.object.clone();
        let meta = metadata_mut(&mut marked);
        if grace > 0 {
            meta.insert("deletionTimestamp".into(), timestamp_in(grace).into());
        } else {
            meta.entry("deletionTimestamp")
                .or_insert_with(|| now_timestamp().into());
        }
        meta.insert("deletionGracePeriodSeconds".into(), grace.into());
        if dry_run {
            return Ok(Some((with_type(marked, target), 200)));
        }
        let revision = match state
            .store
            .update(&key, encode(&marked), existing.revision)
            .await
        {
            Ok(revision) => revision,
            Err(clusterd_store::Error::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(target.store_error(&name, e)),
        };
        set_resource_version(&mut marked, revision);
        return Ok(Some((with_type(marked, target), 200)));
    }
    if dry_run {
        return Ok(Some((with_type(existing.object, target), 200)));
    }
    if is_namespace {
        delete_namespace_contents(state, &name).await?;
    }
    let (revision, last) = match state.store.delete(&key, Some(existing.revision)).await {
        Ok(deleted) => deleted,
        Err(clusterd_store::Error::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(target.store_error(&name, e)),
    };
    if returns_object {
        let mut object = objects::decode(&last)?.object;
        set_resource_version(&mut object, revision);
        if is_namespace {
            metadata_mut(&mut object).insert("deletionTimestamp".into(), now_timestamp().into());
            object["status"] = json!({"phase": "Terminating"});
        }
        return Ok(Some((with_type(object, target), 200)));
    }
    let uid = text(&existing.object, "/metadata/uid");
    Ok(Some((
        delete_success(&target.resource, &target.group, &name, uid),
        200,
    )))
}

/// Deletes every namespaced object in `namespace` (what upstream's namespace controller does before
/// the namespace itself goes).
async fn delete_namespace_contents(
    state: &crate::state::ApiState,
    namespace: &str,
) -> Result<(), StatusError> {
    let page = state
        .store
        .list("/registry/", clusterd_store::ListOptions::latest())
        .await
        .map_err(|e| StatusError::internal(&format!("list namespace {namespace} contents: {e}")))?;
    for kv in page.items {
        let parts: Vec<&str> = kv.key.trim_start_matches('/').split('/').collect();
        if parts.len() == 5 && parts[3] == namespace {
            let _ = state.store.delete(&kv.key, None).await;
        }
    }
    Ok(())
}

/// `DELETE .../<resource>` (deletecollection): deletes every selected object, returns the list.
pub async fn delete_collection(
    ctx: &Ctx<'_>,
    options: &DeleteOptions,
) -> Result<Response<Body>, StatusError> {
    let selectors = ctx.selectors()?;
    let prefix = ctx.target.prefix(&ctx.info.namespace);
    let page = list_filtered(&ctx.state.store, &prefix, 0, None, 0, |o| {
        selectors.matches(o)
    })
    .await
    .map_err(|e| ctx.target.store_error("", e))?;
    let mut deleted = Vec::new();
    for object in page.items {
        let revision = text(&object, "/metadata/resourceVersion")
            .parse::<i64>()
            .unwrap_or(0);
        let stored = Stored { object, revision };
        match delete_object(ctx.state, &ctx.target, stored, options, ctx.dry_run()).await {
            Ok((object, _)) => deleted.push(object),
            Err(e) if e.code == 404 || e.code == 409 => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        200,
        &json!({
            "kind": ctx.target.list_kind(),
            "apiVersion": ctx.target.api_version(),
            "metadata": {"resourceVersion": page.revision.to_string()},
            "items": deleted,
        }),
    ))
}
