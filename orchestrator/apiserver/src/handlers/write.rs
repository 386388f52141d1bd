//! Create, and the checks every write shares: type, namespace and name checks, system metadata (uid,
//! creationTimestamp, generation), defaulting, validation (with `fieldValidation=Strict`),
//! managedFields, namespace existence and `dryRun=All`. Updates are in [`super::update`].

use clusterd_apimachinery::patch::{record_update, UpdateOptions};
use clusterd_apimachinery::status::{StatusCause, StatusDetails, StatusError, StatusReason};
use clusterd_apimachinery::{defaulting, validation};
use http::Response;
use rand::Rng;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::context::{metadata_mut, now_timestamp, text, with_type, Ctx};
use super::services;
use crate::http::{json_response, Body};
use crate::objects::{self, encode, set_resource_version, Target};

/// How often a write without a resourceVersion precondition is retried after losing a race.
/// Upstream's GuaranteedUpdate retries until it lands; five was too few when controllers write
/// a Deployment's status while kubectl patches its spec on a loaded machine (seen in CI).
pub const CONFLICT_RETRIES: usize = 32;

/// Kinds upstream gives no `metadata.generation`.
const NO_GENERATION: [&str; 6] = ["Pod", "Service", "Namespace", "Node", "Endpoints", "Event"];

/// Checks `kind`/`apiVersion` of a body against the target (filling them in when absent).
pub fn check_type(target: &Target, object: &mut Value) -> Result<(), StatusError> {
    if !object.is_object() {
        return Err(StatusError::bad_request(format!(
            "the object must be a JSON object of kind {}",
            target.kind
        )));
    }
    let api_version = text(object, "/apiVersion").to_owned();
    let kind = text(object, "/kind").to_owned();
    if !api_version.is_empty() && api_version != target.api_version() {
        return Err(StatusError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            target.api_version()
        )));
    }
    if !kind.is_empty() && kind != target.kind {
        return Err(StatusError::bad_request(format!(
            "{kind} in version \"{}\" cannot be handled as a {}: the kind in the data does not match the resource",
            target.version, target.kind
        )));
    }
    object["apiVersion"] = target.api_version().into();
    object["kind"] = target.kind.clone().into();
    Ok(())
}

/// Checks and fills the namespace of a body against the request's.
pub fn check_namespace(ctx: &Ctx<'_>, object: &mut Value) -> Result<(), StatusError> {
    let meta = metadata_mut(object);
    if !ctx.target.namespaced {
        meta.remove("namespace");
        return Ok(());
    }
    let body_ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if body_ns.is_empty() {
        meta.insert("namespace".into(), ctx.info.namespace.clone().into());
    } else if body_ns != ctx.info.namespace {
        return Err(StatusError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// 404 unless the request's namespace exists; 403 while it is being deleted.
async fn check_namespace_exists(ctx: &Ctx<'_>) -> Result<(), StatusError> {
    if !ctx.target.namespaced {
        return Ok(());
    }
    let ns = &ctx.info.namespace;
    let key = format!("/registry/core/namespaces/{ns}");
    let namespaces = Target {
        group: String::new(),
        version: "v1".into(),
        resource: "namespaces".into(),
        kind: "Namespace".into(),
        namespaced: false,
        has_status: true,
        has_scale: false,
    };
    match objects::get(&ctx.state.store, &namespaces, &key, ns).await? {
        None => Err(StatusError::not_found("namespaces", "", ns)),
        Some(stored)
            if stored
                .object
                .pointer("/metadata/deletionTimestamp")
                .is_some() =>
        {
            Err(StatusError::forbidden(
                &ctx.target.resource,
                &ctx.target.group,
                text(&stored.object, "/metadata/name"),
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Rejects unknown fields under `fieldValidation=Strict` (kubectl's default for apply/create).
pub fn check_strict(ctx: &Ctx<'_>, object: &Value) -> Result<Vec<String>, StatusError> {
    let mode = ctx.param("fieldValidation");
    if mode == "Ignore" {
        return Ok(Vec::new());
    }
    let unknown = match validation::unknown_fields(object) {
        Ok(Some(unknown)) if !unknown.is_empty() => unknown,
        Ok(_) => return Ok(Vec::new()),
        Err(e) => {
            return Err(StatusError::bad_request(validation::decode_error_message(
                &e,
            )))
        }
    };
    if mode == "Strict" {
        return Err(StatusError::bad_request(
            validation::strict_decoding_message(&unknown),
        ));
    }
    Ok(unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect())
}

/// 422 Invalid from validation errors.
pub fn invalid(target: &Target, name: &str, errors: &[validation::FieldError]) -> StatusError {
    StatusError {
        code: 422,
        reason: StatusReason::Invalid,
        message: validation::invalid_message(&target.group, &target.kind, name, errors),
        details: Some(StatusDetails {
            name: name.to_owned(),
            group: target.group.clone(),
            kind: target.kind.clone(),
            causes: errors
                .iter()
                .map(|e| StatusCause {
                    reason: e.reason.cause_type().to_owned(),
                    message: e.message(),
                    field: e.field.clone(),
                })
                .collect(),
            ..StatusDetails::default()
        }),
    }
}

/// A random name suffix like upstream's `generateName` (5 characters without vowels).
fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    (0..5)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// The status a new object starts with (upstream's `PrepareForCreate`), for resources whose
/// status is a subresource.
fn initial_status(target: &Target, object: &mut Value) {
    if !target.has_status {
        return;
    }
    match target.kind.as_str() {
        "Node" | "Namespace" => {}
        "CustomResourceDefinition" => {
            let now = now_timestamp();
            let storage = object
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .and_then(|v| {
                    v.iter()
                        .find(|v| v.get("storage") == Some(&Value::Bool(true)))
                })
                .and_then(|v| v.get("name").cloned())
                .unwrap_or(Value::Null);
            object["status"] = json!({
                "acceptedNames": object.pointer("/spec/names").cloned().unwrap_or_else(|| json!({})),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
                ],
                "storedVersions": [storage],
            });
        }
        "Pod" => {
            object["status"] = json!({"phase": "Pending", "qosClass": qos_class(object)});
        }
        "Service" => object["status"] = json!({"loadBalancer": {}}),
        _ => {
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
        }
    }
}

/// Upstream's QoS class of a pod: Guaranteed, Burstable or BestEffort.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["/spec/containers", "/spec/initContainers"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .collect();
    let has = |c: &Value, kind: &str| {
        c.pointer(&format!("/resources/{kind}"))
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    };
    if containers
        .iter()
        .all(|c| !has(c, "requests") && !has(c, "limits"))
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = c.pointer(&format!("/resources/limits/{r}"));
            let request = c.pointer(&format!("/resources/requests/{r}")).or(limit);
            limit.is_some() && limit == request
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The write options managed-fields tracking needs.
fn update_options<'a>(
    ctx: &'a Ctx<'_>,
    manager: &'a str,
    kind: &'a str,
    api_version: &'a str,
) -> UpdateOptions<'a> {
    UpdateOptions {
        manager,
        kind,
        api_version,
        subresource: (!ctx.info.subresource.is_empty()).then_some(ctx.info.subresource.as_str()),
        now: OffsetDateTime::now_utc(),
    }
}

/// Records `manager`'s update in `metadata.managedFields`.
pub fn track_fields(ctx: &Ctx<'_>, old: Option<&Value>, new: Value) -> Result<Value, StatusError> {
    let manager = ctx.field_manager();
    let api_version = ctx.target.api_version();
    let options = update_options(ctx, &manager, &ctx.target.kind, &api_version);
    record_update(old, &new, &options)
        .map_err(|e| StatusError::new(e.http_code(), StatusReason::BadRequest, e.to_string()))
}

/// Turns a decoded body into the object to create: checks, system metadata, defaults, validation.
pub async fn prepare_create(
    ctx: &Ctx<'_>,
    mut object: Value,
) -> Result<(Value, Vec<String>), StatusError> {
    check_type(&ctx.target, &mut object)?;
    let warnings = check_strict(ctx, &object)?;
    check_namespace(ctx, &mut object)?;
    let meta = metadata_mut(&mut object);
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        if let Some(prefix) = meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            name = format!("{prefix}{}", name_suffix());
            meta.insert("name".into(), name.clone().into());
        } else if !ctx.info.name.is_empty() {
            name = ctx.info.name.clone();
            meta.insert("name".into(), name.clone().into());
        }
    }
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(field);
    }
    meta.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
    meta.insert("creationTimestamp".into(), now_timestamp().into());
    let has_spec = object.get("spec").is_some();
    if has_spec && !NO_GENERATION.contains(&ctx.target.kind.as_str()) {
        metadata_mut(&mut object).insert("generation".into(), 1.into());
    } else {
        metadata_mut(&mut object).remove("generation");
    }
    initial_status(&ctx.target, &mut object);
    if super::csr::is_csr(&ctx.target) {
        let errors = super::csr::prepare_create(ctx.user, &mut object);
        if !errors.is_empty() {
            return Err(invalid(&ctx.target, &name, &errors));
        }
    }
    defaulting::apply_defaults(&mut object);
    // Upstream's mutating admission on create: ServiceAccount, Priority, DefaultTolerationSeconds.
    defaulting::admit(&mut object);
    if name.is_empty() {
        let error =
            validation::FieldError::required("metadata.name", "name or generateName is required");
        return Err(invalid(&ctx.target, "", &[error]));
    }
    let errors = validation::validate_create(&object);
    if !errors.is_empty() {
        return Err(invalid(&ctx.target, &name, &errors));
    }
    let object = track_fields(ctx, None, object)?;
    Ok((object, warnings))
}

/// `POST .../<resource>`.
pub async fn create(ctx: &Ctx<'_>, body: Value) -> Result<Response<Body>, StatusError> {
    check_namespace_exists(ctx).await?;
    let (object, warnings) = prepare_create(ctx, body).await?;
    let (object, code) = store_new(ctx, object).await?;
    let mut response = json_response(code, &object);
    add_warnings(&mut response, &warnings);
    Ok(response)
}

/// Stores a prepared new object (allocating service addresses), or only returns it under dry run.
pub async fn store_new(ctx: &Ctx<'_>, mut object: Value) -> Result<(Value, u16), StatusError> {
    let name = text(&object, "/metadata/name").to_owned();
    let namespace = text(&object, "/metadata/namespace").to_owned();
    let key = ctx.target.key(&namespace, &name);
    let _allocation = if ctx.target.kind == "Service" && ctx.target.group.is_empty() {
        let guard = ctx.state.allocation.lock().await;
        services::allocate(ctx.state, &mut object, None).await?;
        Some(guard)
    } else {
        None
    };
    if ctx.dry_run() {
        return Ok((with_type(object, &ctx.target), 201));
    }
    let revision = ctx
        .state
        .store
        .create(&key, encode(&object))
        .await
        .map_err(|e| ctx.target.store_error(&name, e))?;
    set_resource_version(&mut object, revision);
    Ok((with_type(object, &ctx.target), 201))
}

/// Adds `Warning: 299 - "..."` headers, which kubectl prints.
pub fn add_warnings(response: &mut Response<Body>, warnings: &[String]) {
    for warning in warnings {
        let value = format!("299 - {}", serde_json::Value::String(warning.clone()));
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            response.headers_mut().append(http::header::WARNING, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_follows_requests_and_limits() {
        assert_eq!(
            qos_class(&json!({"spec": {"containers": [{"name": "a"}]}})),
            "BestEffort"
        );
        let guaranteed = json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
        let burstable =
            json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(qos_class(&burstable), "Burstable");
    }

    #[test]
    fn type_mismatches_are_400_and_missing_types_are_filled() {
        let target = Target {
            group: String::new(),
            version: "v1".into(),
            resource: "configmaps".into(),
            kind: "ConfigMap".into(),
            namespaced: true,
            has_status: false,
            has_scale: false,
        };
        let mut object = json!({"metadata": {"name": "a"}});
        check_type(&target, &mut object).unwrap();
        assert_eq!(
            (object["kind"].as_str(), object["apiVersion"].as_str()),
            (Some("ConfigMap"), Some("v1"))
        );
        let mut wrong = json!({"kind": "Secret", "apiVersion": "v1"});
        assert_eq!(check_type(&target, &mut wrong).unwrap_err().code, 400);
        let mut wrong = json!({"kind": "ConfigMap", "apiVersion": "apps/v1"});
        assert!(check_type(&target, &mut wrong)
            .unwrap_err()
            .message
            .contains("does not match the expected API version (v1)"));
    }

    #[test]
    fn generated_names_have_five_safe_characters() {
        let suffix = name_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| !b"aeiou01".contains(&b)));
    }
}
