//! The review APIs (`kubectl auth can-i`, `auth whoami`, TokenReview) and TokenRequest
//! (`serviceaccounts/<name>/token`).

use clusterd_apimachinery::status::StatusError;
use http::Response;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::auth::authenticate_token;
use super::context::{text, Ctx};
use crate::authn::{ServiceAccountClaims, UserInfo};
use crate::authz::Attributes;
use crate::http::{json_response, Body};
use crate::objects;

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The attributes an access review asks about, for `user`.
fn review_attributes(spec: &Value, user: UserInfo, namespace_override: Option<&str>) -> Attributes {
    if let Some(resource) = spec.get("resourceAttributes") {
        let field = |k: &str| text(resource, &format!("/{k}")).to_owned();
        Attributes {
            user,
            verb: field("verb"),
            resource_request: true,
            api_group: field("group"),
            resource: field("resource"),
            subresource: field("subresource"),
            name: field("name"),
            namespace: namespace_override.map_or_else(|| field("namespace"), str::to_owned),
            path: String::new(),
        }
    } else {
        Attributes {
            user,
            verb: text(spec, "/nonResourceAttributes/verb").to_owned(),
            path: text(spec, "/nonResourceAttributes/path").to_owned(),
            ..Default::default()
        }
    }
}

/// POST of a review resource of `authorization.k8s.io` or `authentication.k8s.io`, or of
/// `serviceaccounts/<name>/token`; `None` when the request is none of these.
pub async fn review(ctx: &Ctx<'_>, body: &Value) -> Option<Result<Response<Body>, StatusError>> {
    let group = ctx.target.group.as_str();
    let resource = ctx.target.resource.as_str();
    let mut out = body.clone();
    out["apiVersion"] = ctx.target.api_version().into();
    out["kind"] = ctx.target.kind.clone().into();
    if out.get("metadata").is_none() {
        out["metadata"] = json!({});
    }
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match (group, resource, ctx.info.subresource.as_str()) {
        ("authorization.k8s.io", "selfsubjectaccessreviews", "") => {
            let attrs = review_attributes(&spec, ctx.user.clone(), None);
            access_status(ctx, &attrs)
        }
        ("authorization.k8s.io", "subjectaccessreviews" | "localsubjectaccessreviews", "") => {
            let mut user = UserInfo {
                name: text(&spec, "/user").to_owned(),
                uid: text(&spec, "/uid").to_owned(),
                groups: strings(spec.get("groups")),
                ..Default::default()
            };
            if let Some(extra) = spec.get("extra").and_then(Value::as_object) {
                for (k, v) in extra {
                    user.extra.insert(k.clone(), strings(Some(v)));
                }
            }
            let ns =
                (resource == "localsubjectaccessreviews").then_some(ctx.info.namespace.as_str());
            let attrs = review_attributes(&spec, user, ns);
            access_status(ctx, &attrs)
        }
        ("authorization.k8s.io", "selfsubjectrulesreviews", "") => {
            let namespace = text(&spec, "/namespace");
            let rules = ctx.state.rbac.rules_for(ctx.user, namespace);
            let resource_rules: Vec<Value> = rules
                .iter()
                .filter(|r| r.non_resource_urls.is_empty())
                .map(|r| json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources, "resourceNames": r.resource_names}))
                .collect();
            let non_resource_rules: Vec<Value> = rules
                .iter()
                .filter(|r| !r.non_resource_urls.is_empty())
                .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
                .collect();
            json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
        }
        ("authentication.k8s.io", "selfsubjectreviews", "") => {
            json!({"userInfo": ctx.user.to_json()})
        }
        ("authentication.k8s.io", "tokenreviews", "") => {
            let token = text(&spec, "/token");
            match authenticate_token(ctx.state, token).await {
                Some(user) => {
                    json!({"authenticated": true, "user": user.to_json(), "audiences": strings(spec.get("audiences"))})
                }
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            }
        }
        ("", "serviceaccounts", "token") => return Some(token_request(ctx, out, &spec).await),
        _ => return None,
    };
    out["status"] = status;
    Some(Ok(json_response(201, &out)))
}

fn access_status(ctx: &Ctx<'_>, attrs: &Attributes) -> Value {
    if ctx.state.rbac.authorize(attrs) {
        json!({"allowed": true, "reason": "allowed by RBAC"})
    } else {
        json!({"allowed": false})
    }
}

/// `POST serviceaccounts/<name>/token`: a signed token for an existing service account.
async fn token_request(
    ctx: &Ctx<'_>,
    mut out: Value,
    spec: &Value,
) -> Result<Response<Body>, StatusError> {
    let account = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
        .await?
        .ok_or_else(|| ctx.not_found())?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let seconds = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600)
        .clamp(600, 48 * 3600);
    let pod = (text(spec, "/boundObjectRef/kind") == "Pod").then(|| {
        (
            text(spec, "/boundObjectRef/name").to_owned(),
            text(spec, "/boundObjectRef/uid").to_owned(),
        )
    });
    let claims = ServiceAccountClaims {
        namespace: ctx.info.namespace.clone(),
        name: ctx.info.name.clone(),
        uid: text(&account.object, "/metadata/uid").to_owned(),
        audiences: strings(spec.get("audiences")),
        issued_at: now,
        expires_at: now + seconds,
        pod,
    };
    let token = ctx
        .state
        .signer
        .issue(&claims)
        .map_err(|e| StatusError::internal(&e.to_string()))?;
    let expires = OffsetDateTime::from_unix_timestamp(now + seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    out["apiVersion"] = "authentication.k8s.io/v1".into();
    out["kind"] = "TokenRequest".into();
    out["metadata"] =
        json!({"name": ctx.info.name, "namespace": ctx.info.namespace, "creationTimestamp": null});
    if !out.get("spec").is_some_and(Value::is_object) {
        out["spec"] = json!({});
    }
    out["spec"]["expirationSeconds"] = seconds.into();
    out["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(json_response(201, &out))
}
