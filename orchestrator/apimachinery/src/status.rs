//! `metav1.Status` errors worded exactly as upstream's `k8s.io/apimachinery/pkg/api/errors`, so that
//! kubectl and client libraries recognise them (`IsNotFound`, `IsConflict`, ...) and print the same text.
//!
//! Handlers build a [`StatusError`] with one of the constructors and send [`StatusError::code`] with
//! [`StatusError::to_value`] as the JSON body.

mod field_error;

use serde::Serialize;
use serde_json::{json, Value};

pub use field_error::{FieldError, FieldErrorType};

/// Why a request failed: the `reason` field of a `Status`, spelled as upstream's `metav1.StatusReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusReason {
    /// 404: the named object does not exist.
    NotFound,
    /// 409 on create: an object with that name exists.
    AlreadyExists,
    /// 409 on update: the resourceVersion precondition failed.
    Conflict,
    /// 422: the object failed validation.
    Invalid,
    /// 400: the request itself is malformed.
    BadRequest,
    /// 401: no valid credentials.
    Unauthorized,
    /// 403: the user may not do this.
    Forbidden,
    /// 405: the verb is not supported on the resource.
    MethodNotAllowed,
    /// 406: no acceptable response media type.
    NotAcceptable,
    /// 410: the resource is gone.
    Gone,
    /// 410: the requested resourceVersion or continue token is too old.
    Expired,
    /// 413: the request body is too large.
    RequestEntityTooLarge,
    /// 415: the request body media type is unknown.
    UnsupportedMediaType,
    /// 429: the client should retry later.
    TooManyRequests,
    /// 500: a server bug or storage failure.
    InternalError,
    /// 500: the server could not finish in time (retryable).
    ServerTimeout,
    /// 503: the server is not ready.
    ServiceUnavailable,
    /// 504: the request timed out.
    Timeout,
}

impl StatusReason {
    /// The wire spelling, e.g. `"NotFound"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "NotFound",
            Self::AlreadyExists => "AlreadyExists",
            Self::Conflict => "Conflict",
            Self::Invalid => "Invalid",
            Self::BadRequest => "BadRequest",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable => "NotAcceptable",
            Self::Gone => "Gone",
            Self::Expired => "Expired",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::TooManyRequests => "TooManyRequests",
            Self::InternalError => "InternalError",
            Self::ServerTimeout => "ServerTimeout",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::Timeout => "Timeout",
        }
    }
}

impl Serialize for StatusReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One cause inside `details.causes` (the JSON key of the cause type is `reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCause {
    /// Machine-readable cause, e.g. `FieldValueRequired`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field path the cause is about, e.g. `spec.containers[0].image`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// `details` of a Status: which object the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The object's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The API group (empty for core).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The resource plural (NotFound, Conflict, ...) or the Kind (Invalid), as upstream fills it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's UID (success of a delete).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Individual causes, e.g. one per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// How long the client should wait before retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// A failed request as the API server reports it: the HTTP code plus the `Status` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    /// The HTTP status code, also written as `code` in the body.
    pub code: u16,
    /// Upstream's reason.
    pub reason: StatusReason,
    /// The message kubectl prints after `Error from server (<reason>): `.
    pub message: String,
    /// Which object the error is about, when there is one.
    pub details: Option<StatusDetails>,
}

/// Result of a handler operation that fails with a [`StatusError`].
pub type Result<T, E = StatusError> = std::result::Result<T, E>;

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// `pods` for the core group, `deployments.apps` otherwise (upstream `GroupResource.String()`).
pub fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

/// A Go `%q` rendering of a string, which is what upstream uses around names.
pub(crate) fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn object_details(resource: &str, group: &str, name: &str) -> Option<StatusDetails> {
    Some(StatusDetails {
        name: name.to_owned(),
        group: group.to_owned(),
        kind: resource.to_owned(),
        ..StatusDetails::default()
    })
}

impl StatusError {
    /// An error with no details.
    pub fn new(code: u16, reason: StatusReason, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 `pods "x" not found` / `deployments.apps "x" not found`.
    pub fn not_found(resource: &str, group: &str, name: &str) -> Self {
        Self {
            details: object_details(resource, group, name),
            ..Self::new(
                404,
                StatusReason::NotFound,
                format!(
                    "{} {} not found",
                    qualified(resource, group),
                    go_quote(name)
                ),
            )
        }
    }

    /// 404 for a path that matches no resource (upstream's generic `NotFound` body).
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            StatusReason::NotFound,
            "the server could not find the requested resource",
        )
    }

    /// 409 `pods "x" already exists`.
    pub fn already_exists(resource: &str, group: &str, name: &str) -> Self {
        Self {
            details: object_details(resource, group, name),
            ..Self::new(
                409,
                StatusReason::AlreadyExists,
                format!(
                    "{} {} already exists",
                    qualified(resource, group),
                    go_quote(name)
                ),
            )
        }
    }

    /// 409 Conflict with upstream's stale-resourceVersion wording.
    pub fn conflict(resource: &str, group: &str, name: &str) -> Self {
        Self::conflict_with(
            resource,
            group,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 `Operation cannot be fulfilled on <resource> "<name>": <reason>`.
    pub fn conflict_with(resource: &str, group: &str, name: &str, reason: &str) -> Self {
        Self {
            details: object_details(resource, group, name),
            ..Self::new(
                409,
                StatusReason::Conflict,
                format!(
                    "Operation cannot be fulfilled on {} {}: {reason}",
                    qualified(resource, group),
                    go_quote(name)
                ),
            )
        }
    }

    /// 422 `Pod "x" is invalid: spec.containers[0].image: Required value`; `kind` is the Kind
    /// (`Pod`), `group` its API group (the message then says `Deployment.apps`).
    pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Self {
        let mut rendered: Vec<String> = Vec::new();
        for e in errors {
            let s = e.to_string();
            if !rendered.contains(&s) {
                rendered.push(s);
            }
        }
        let aggregate = match rendered.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let causes = errors.iter().map(FieldError::to_cause).collect();
        Self {
            code: 422,
            reason: StatusReason::Invalid,
            message: format!(
                "{} {} is invalid: {aggregate}",
                qualified(kind, group),
                go_quote(name)
            ),
            details: Some(StatusDetails {
                name: name.to_owned(),
                group: group.to_owned(),
                kind: kind.to_owned(),
                causes,
                ..StatusDetails::default()
            }),
        }
    }

    /// 400 BadRequest with the given message (e.g. `field label not supported: spec.foo`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, StatusReason::BadRequest, message)
    }

    /// 401 `Unauthorized`, which makes exec-plugin clients refresh their credentials.
    pub fn unauthorized() -> Self {
        Self::new(401, StatusReason::Unauthorized, "Unauthorized")
    }

    /// 403 `<resource> "<name>" is forbidden: <reason>` (`name` may be empty; an empty resource
    /// gives `forbidden: <reason>` as for non-resource paths).
    pub fn forbidden(resource: &str, group: &str, name: &str, reason: &str) -> Self {
        let message = if resource.is_empty() && group.is_empty() {
            format!("forbidden: {reason}")
        } else if name.is_empty() {
            format!("{} is forbidden: {reason}", qualified(resource, group))
        } else {
            format!(
                "{} {} is forbidden: {reason}",
                qualified(resource, group),
                go_quote(name)
            )
        };
        Self {
            details: object_details(resource, group, name),
            ..Self::new(403, StatusReason::Forbidden, message)
        }
    }

    /// 403 as the RBAC authorizer words it: `pods is forbidden: User "u" cannot list resource
    /// "pods" in API group "" in the namespace "default"`.
    pub fn forbidden_for_user(attributes: &ForbiddenRequest<'_>) -> Self {
        let a = attributes;
        let user = go_quote(a.user);
        let reason = match a.resource {
            None => format!("User {user} cannot {} path {}", a.verb, go_quote(a.path)),
            Some(resource) => {
                let full = match a.subresource {
                    Some(sub) if !sub.is_empty() => format!("{resource}/{sub}"),
                    _ => resource.to_owned(),
                };
                let scope = match a.namespace {
                    Some(ns) if !ns.is_empty() => format!("in the namespace {}", go_quote(ns)),
                    _ => "at the cluster scope".to_owned(),
                };
                format!(
                    "User {user} cannot {} resource {} in API group {} {scope}",
                    a.verb,
                    go_quote(&full),
                    go_quote(a.group)
                )
            }
        };
        Self::forbidden(a.resource.unwrap_or(""), a.group, a.name, &reason)
    }

    /// 405 `<verb> is not supported on resources of kind "pods"`.
    pub fn method_not_allowed(resource: &str, group: &str, action: &str) -> Self {
        Self {
            details: Some(StatusDetails {
                group: group.to_owned(),
                kind: resource.to_owned(),
                ..StatusDetails::default()
            }),
            ..Self::new(
                405,
                StatusReason::MethodNotAllowed,
                format!(
                    "{action} is not supported on resources of kind {}",
                    go_quote(&qualified(resource, group))
                ),
            )
        }
    }

    /// 406 `only the following media types are accepted: a, b`.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        Self::new(
            406,
            StatusReason::NotAcceptable,
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 406 for a Table request on a resource that cannot be shown as a Table.
    pub fn table_not_supported(resource: &str, group: &str) -> Self {
        Self::new(
            406,
            StatusReason::NotAcceptable,
            format!(
                "the resource {} does not support being converted to a Table",
                qualified(resource, group)
            ),
        )
    }

    /// 410 Gone with the given message.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, StatusReason::Gone, message)
    }

    /// 410 Expired: `too old resource version: 5 (12)`; reflectors relist on it.
    pub fn too_old_resource_version(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            StatusReason::Expired,
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 410 Expired with the given message (e.g. an expired continue token).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, StatusReason::Expired, message)
    }

    /// 413 `Request entity too large: <message>`.
    pub fn request_entity_too_large(message: &str) -> Self {
        Self::new(
            413,
            StatusReason::RequestEntityTooLarge,
            format!("Request entity too large: {message}"),
        )
    }

    /// 415 naming the media types that are accepted.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            StatusReason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 429 with the message as given (upstream `NewTooManyRequests`), asking the client to retry
    /// after `retry_after_seconds`.
    pub fn too_many_requests(message: &str, retry_after_seconds: u32) -> Self {
        Self {
            details: Some(StatusDetails {
                retry_after_seconds: Some(retry_after_seconds),
                ..StatusDetails::default()
            }),
            ..Self::new(429, StatusReason::TooManyRequests, message)
        }
    }

    /// 500 `Internal error occurred: <error>`.
    pub fn internal(error: &str) -> Self {
        Self {
            details: Some(StatusDetails {
                causes: vec![StatusCause {
                    reason: String::new(),
                    message: error.to_owned(),
                    field: String::new(),
                }],
                ..StatusDetails::default()
            }),
            ..Self::new(
                500,
                StatusReason::InternalError,
                format!("Internal error occurred: {error}"),
            )
        }
    }

    /// 503 with the given message.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, StatusReason::ServiceUnavailable, message)
    }

    /// 504 `Timeout: <message>`.
    pub fn timeout(message: &str, retry_after_seconds: u32) -> Self {
        Self {
            details: Some(StatusDetails {
                retry_after_seconds: Some(retry_after_seconds),
                ..StatusDetails::default()
            }),
            ..Self::new(504, StatusReason::Timeout, format!("Timeout: {message}"))
        }
    }

    /// The `Status` JSON body, fields in upstream's order.
    pub fn to_value(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
        });
        if let Some(details) = &self.details {
            body["details"] = serde_json::to_value(details).unwrap_or(Value::Null);
        }
        body["code"] = json!(self.code);
        body
    }
}

/// What the authorizer denied, for [`StatusError::forbidden_for_user`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ForbiddenRequest<'a> {
    /// The user name (`system:anonymous` when unauthenticated).
    pub user: &'a str,
    /// The verb: `get`, `list`, `watch`, `create`, ...
    pub verb: &'a str,
    /// The resource plural, or `None` for a non-resource path.
    pub resource: Option<&'a str>,
    /// The subresource, if any.
    pub subresource: Option<&'a str>,
    /// The API group (empty for core).
    pub group: &'a str,
    /// The namespace, or `None` at cluster scope.
    pub namespace: Option<&'a str>,
    /// The object name, empty for collections.
    pub name: &'a str,
    /// The request path, for non-resource requests.
    pub path: &'a str,
}

/// The `Status` a successful DELETE returns for stores that do not return the object:
/// `status: Success` with `details` name, group, kind (the resource plural) and uid.
pub fn delete_success(resource: &str, group: &str, name: &str, uid: &str) -> Value {
    let details = StatusDetails {
        name: name.to_owned(),
        group: group.to_owned(),
        kind: resource.to_owned(),
        uid: uid.to_owned(),
        ..StatusDetails::default()
    };
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": serde_json::to_value(details).unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests;
