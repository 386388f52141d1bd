//! Typed decoding of built-in objects: decode errors as upstream words them, and the unknown fields that
//! `fieldValidation=Strict` rejects and `fieldValidation=Warn` reports.
//!
//! An object is decoded into its k8s-openapi type (serde ignores unknown fields) and encoded again; every
//! field of the input missing from that round trip is unknown to the type.

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// An object that does not decode into its built-in type (a string where a number belongs, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} in version {version:?} cannot be handled as a {kind}: {reason}")]
pub struct DecodeError {
    /// The object's kind.
    pub kind: String,
    /// The version of its apiVersion.
    pub version: String,
    /// What the decoder found.
    pub reason: String,
}

/// The message of a 400 BadRequest for a body that does not decode: upstream's
/// `Pod in version "v1" cannot be handled as a Pod: <reason>`.
pub fn decode_error_message(error: &DecodeError) -> String {
    error.to_string()
}

/// The message of a 400 BadRequest for `fieldValidation=Strict`:
/// `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
pub fn strict_decoding_message(unknown: &[String]) -> String {
    let fields: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    format!("strict decoding error: {}", fields.join(", "))
}

fn round_trip<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Value, serde_json::Error> {
    let typed: T = serde_json::from_value(object.clone())?;
    serde_json::to_value(typed)
}

type RoundTrip = fn(&Value) -> Result<Value, serde_json::Error>;

/// The round trip through the k8s-openapi type of a built-in group/version/kind.
fn round_trip_for(group: &str, version: &str, kind: &str) -> Option<RoundTrip> {
    let f: RoundTrip = match (group, version, kind) {
        ("", "v1", "Pod") => round_trip::<api::core::v1::Pod>,
        ("", "v1", "Service") => round_trip::<api::core::v1::Service>,
        ("", "v1", "Namespace") => round_trip::<api::core::v1::Namespace>,
        ("", "v1", "Node") => round_trip::<api::core::v1::Node>,
        ("", "v1", "ConfigMap") => round_trip::<api::core::v1::ConfigMap>,
        ("", "v1", "Secret") => round_trip::<api::core::v1::Secret>,
        ("", "v1", "ServiceAccount") => round_trip::<api::core::v1::ServiceAccount>,
        ("", "v1", "Endpoints") => round_trip::<api::core::v1::Endpoints>,
        ("", "v1", "Event") => round_trip::<api::core::v1::Event>,
        ("", "v1", "PodTemplate") => round_trip::<api::core::v1::PodTemplate>,
        ("", "v1", "ReplicationController") => round_trip::<api::core::v1::ReplicationController>,
        ("", "v1", "PersistentVolume") => round_trip::<api::core::v1::PersistentVolume>,
        ("", "v1", "PersistentVolumeClaim") => round_trip::<api::core::v1::PersistentVolumeClaim>,
        ("", "v1", "LimitRange") => round_trip::<api::core::v1::LimitRange>,
        ("", "v1", "ResourceQuota") => round_trip::<api::core::v1::ResourceQuota>,
        ("apps", "v1", "Deployment") => round_trip::<api::apps::v1::Deployment>,
        ("apps", "v1", "ReplicaSet") => round_trip::<api::apps::v1::ReplicaSet>,
        ("apps", "v1", "DaemonSet") => round_trip::<api::apps::v1::DaemonSet>,
        ("apps", "v1", "StatefulSet") => round_trip::<api::apps::v1::StatefulSet>,
        ("apps", "v1", "ControllerRevision") => round_trip::<api::apps::v1::ControllerRevision>,
        ("batch", "v1", "Job") => round_trip::<api::batch::v1::Job>,
        ("batch", "v1", "CronJob") => round_trip::<api::batch::v1::CronJob>,
        ("autoscaling", "v1", "Scale") => round_trip::<api::autoscaling::v1::Scale>,
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            round_trip::<api::autoscaling::v1::HorizontalPodAutoscaler>
        }
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            round_trip::<api::autoscaling::v2::HorizontalPodAutoscaler>
        }
        ("networking.k8s.io", "v1", "Ingress") => round_trip::<api::networking::v1::Ingress>,
        ("networking.k8s.io", "v1", "IngressClass") => {
            round_trip::<api::networking::v1::IngressClass>
        }
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            round_trip::<api::networking::v1::NetworkPolicy>
        }
        ("discovery.k8s.io", "v1", "EndpointSlice") => {
            round_trip::<api::discovery::v1::EndpointSlice>
        }
        ("coordination.k8s.io", "v1", "Lease") => round_trip::<api::coordination::v1::Lease>,
        ("events.k8s.io", "v1", "Event") => round_trip::<api::events::v1::Event>,
        ("policy", "v1", "PodDisruptionBudget") => {
            round_trip::<api::policy::v1::PodDisruptionBudget>
        }
        ("policy", "v1", "Eviction") => round_trip::<api::policy::v1::Eviction>,
        ("rbac.authorization.k8s.io", "v1", "Role") => round_trip::<api::rbac::v1::Role>,
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            round_trip::<api::rbac::v1::ClusterRole>
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            round_trip::<api::rbac::v1::RoleBinding>
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            round_trip::<api::rbac::v1::ClusterRoleBinding>
        }
        ("storage.k8s.io", "v1", "StorageClass") => round_trip::<api::storage::v1::StorageClass>,
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            round_trip::<api::scheduling::v1::PriorityClass>
        }
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => {
            round_trip::<apiextensions::CustomResourceDefinition>
        }
        _ => return None,
    };
    Some(f)
}

/// The fields of `object` that its built-in type does not have, as upstream names them
/// (`spec.containers[0].foo`), in document order. `Ok(None)` for kinds not built in (custom resources),
/// which this module cannot check; `Err` when the object does not decode at all.
pub fn unknown_fields(object: &Value) -> Result<Option<Vec<String>>, DecodeError> {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let Some(round_trip) = round_trip_for(group, version, kind) else {
        return Ok(None);
    };
    let decoded = round_trip(object).map_err(|err| DecodeError {
        kind: kind.to_string(),
        version: version.to_string(),
        reason: err.to_string(),
    })?;
    let mut unknown = Vec::new();
    missing_paths(object, &decoded, "", &mut unknown);
    Ok(Some(unknown))
}

fn missing_paths(input: &Value, decoded: &Value, path: &str, out: &mut Vec<String>) {
    match (input, decoded) {
        (Value::Object(input), Value::Object(decoded)) => {
            for (key, value) in input {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match decoded.get(key) {
                    Some(kept) => missing_paths(value, kept, &at, out),
                    None if value.is_null() => {}
                    None => out.push(at),
                }
            }
        }
        (Value::Array(input), Value::Array(decoded)) => {
            for (index, (value, kept)) in input.iter().zip(decoded).enumerate() {
                missing_paths(value, kept, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}
