//! CertificateSigningRequests (certificates.k8s.io/v1) as upstream's registry strategies treat them:
//! the requester's identity is stamped into the spec on create, the spec never changes afterwards,
//! the `approval` subresource writes only the conditions and `status` writes everything else.

use clusterd_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::context::{now_timestamp, text};
use crate::authn::UserInfo;
use crate::objects::Target;

/// The condition types only the `approval` subresource may add.
const APPROVAL_TYPES: [&str; 2] = ["Approved", "Denied"];
/// Every condition type upstream accepts.
const CONDITION_TYPES: [&str; 3] = ["Approved", "Denied", "Failed"];
/// Key usages upstream accepts in `spec.usages`.
const USAGES: [&str; 21] = [
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
];

/// Whether `target` is the CertificateSigningRequest resource.
pub fn is_csr(target: &Target) -> bool {
    target.group == "certificates.k8s.io" && target.kind == "CertificateSigningRequest"
}

/// Upstream's `PrepareForCreate` and validation: the spec's user fields come from the requester
/// (whatever the body said), the status starts empty, and the request, signer, usages and
/// expiration are checked.
pub fn prepare_create(user: &UserInfo, object: &mut Value) -> Vec<FieldError> {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if !object.get("spec").is_some_and(Value::is_object) {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    spec["username"] = user.name.clone().into();
    if user.uid.is_empty() {
        if let Some(map) = spec.as_object_mut() {
            map.remove("uid");
        }
    } else {
        spec["uid"] = user.uid.clone().into();
    }
    spec["groups"] = json!(user.groups);
    if user.extra.is_empty() {
        if let Some(map) = spec.as_object_mut() {
            map.remove("extra");
        }
    } else {
        spec["extra"] = json!(user.extra);
    }
    validate_spec(spec)
}

fn validate_spec(spec: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let request = text(spec, "/request");
    if request.is_empty() {
        errors.push(FieldError::required("spec.request", ""));
    } else if !decodes_to_csr(request) {
        errors.push(FieldError::invalid(
            "spec.request",
            "",
            "PEM block type must be CERTIFICATE REQUEST",
        ));
    }
    let signer = text(spec, "/signerName");
    if signer.is_empty() {
        errors.push(FieldError::required("spec.signerName", ""));
    } else if !signer.contains('/') {
        errors.push(FieldError::invalid(
            "spec.signerName",
            signer,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
    }
    match spec.get("usages").and_then(Value::as_array) {
        None => errors.push(FieldError::required("spec.usages", "")),
        Some(usages) if usages.is_empty() => errors.push(FieldError::required("spec.usages", "")),
        Some(usages) => {
            for (i, usage) in usages.iter().enumerate() {
                let value = usage.as_str().unwrap_or_default();
                if !USAGES.contains(&value) {
                    errors.push(FieldError::not_supported(
                        format!("spec.usages[{i}]"),
                        value,
                        &USAGES,
                    ));
                }
            }
        }
    }
    if let Some(seconds) = spec.get("expirationSeconds").and_then(Value::as_i64) {
        if seconds < 600 {
            errors.push(FieldError::invalid(
                "spec.expirationSeconds",
                seconds,
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
    }
    errors
}

/// Whether the base64 `request` holds a PEM `CERTIFICATE REQUEST` block.
fn decodes_to_csr(request: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(request)
        .ok()
        .and_then(|pem| String::from_utf8(pem).ok())
        .is_some_and(|pem| pem.contains("-----BEGIN CERTIFICATE REQUEST-----"))
}

/// Applies upstream's update strategies on top of the generic merge `merged` of `requested` over
/// `old`: the spec (and generation) never change; `approval` takes only the requested conditions;
/// `status` takes everything but the Approved/Denied conditions.
pub fn merge(subresource: &str, old: &Value, requested: &Value, mut merged: Value) -> Value {
    merged["spec"] = old.get("spec").cloned().unwrap_or_else(|| json!({}));
    match old.pointer("/metadata/generation") {
        Some(generation) => merged["metadata"]["generation"] = generation.clone(),
        None => {
            if let Some(meta) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("generation");
            }
        }
    }
    let old_conditions = conditions(old);
    let new_conditions = match subresource {
        "approval" => {
            merged["status"] = old.get("status").cloned().unwrap_or_else(|| json!({}));
            conditions(requested)
        }
        "status" => {
            let mut kept: Vec<Value> = conditions(&merged)
                .into_iter()
                .filter(|c| !APPROVAL_TYPES.contains(&condition_type(c)))
                .collect();
            kept.extend(
                old_conditions
                    .iter()
                    .filter(|c| APPROVAL_TYPES.contains(&condition_type(c)))
                    .cloned(),
            );
            kept
        }
        _ => return merged,
    };
    let stamped = populate_timestamps(new_conditions, &old_conditions);
    if !merged.get("status").is_some_and(Value::is_object) {
        merged["status"] = json!({});
    }
    if stamped.is_empty() {
        if let Some(status) = merged["status"].as_object_mut() {
            status.remove("conditions");
        }
    } else {
        merged["status"]["conditions"] = Value::Array(stamped);
    }
    merged
}

fn conditions(object: &Value) -> Vec<Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn condition_type(condition: &Value) -> &str {
    text(condition, "/type")
}

/// Upstream's `populateConditionTimestamps`: a missing lastUpdateTime is now; a missing
/// lastTransitionTime is carried over from the old condition of the same type and status, else now.
fn populate_timestamps(conditions: Vec<Value>, old: &[Value]) -> Vec<Value> {
    let now = now_timestamp();
    conditions
        .into_iter()
        .map(|mut c| {
            if text(&c, "/lastUpdateTime").is_empty() {
                c["lastUpdateTime"] = now.clone().into();
            }
            if text(&c, "/lastTransitionTime").is_empty() {
                let previous = old
                    .iter()
                    .find(|o| {
                        condition_type(o) == condition_type(&c)
                            && text(o, "/status") == text(&c, "/status")
                    })
                    .map(|o| text(o, "/lastTransitionTime").to_owned())
                    .filter(|t| !t.is_empty());
                c["lastTransitionTime"] = previous.unwrap_or_else(|| now.clone()).into();
            }
            c
        })
        .collect()
}

/// Upstream's update validation: known condition types at most once each, Approved and Denied
/// exclusive, neither removable once added, and a certificate only on an approved request and
/// never changed once issued.
pub fn validate_update(old: &Value, new: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let new_conditions = conditions(new);
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in new_conditions.iter().enumerate() {
        let kind = condition_type(c);
        let field = format!("status.conditions[{i}].type");
        if kind.is_empty() {
            errors.push(FieldError::required(field, ""));
            continue;
        }
        if seen.contains(&kind) {
            errors.push(FieldError::duplicate(field, kind));
        }
        seen.push(kind);
        if CONDITION_TYPES.contains(&kind) && text(c, "/status") != "True" {
            errors.push(FieldError::not_supported(
                format!("status.conditions[{i}].status"),
                text(c, "/status"),
                &["True"],
            ));
        }
    }
    if seen.contains(&"Approved") && seen.contains(&"Denied") {
        errors.push(FieldError::invalid(
            "status.conditions",
            "",
            "Approved and Denied conditions are mutually exclusive",
        ));
    }
    for old_condition in conditions(old) {
        let kind = condition_type(&old_condition);
        if CONDITION_TYPES.contains(&kind) && !seen.contains(&kind) {
            errors.push(FieldError::forbidden(
                "status.conditions",
                format!("updates may not remove a condition of type {kind:?}"),
            ));
        }
    }
    let (old_cert, new_cert) = (
        text(old, "/status/certificate"),
        text(new, "/status/certificate"),
    );
    if !old_cert.is_empty() && old_cert != new_cert {
        errors.push(FieldError::forbidden(
            "status.certificate",
            "updates may not modify existing certificate content",
        ));
    } else if old_cert.is_empty()
        && !new_cert.is_empty()
        && (!seen.contains(&"Approved") || seen.contains(&"Denied") || seen.contains(&"Failed"))
    {
        errors.push(FieldError::invalid(
            "status.certificate",
            "",
            "certificate may only be set if the Approved condition is present and neither Denied nor Failed are",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn request() -> String {
        base64::engine::general_purpose::STANDARD.encode(
            "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        )
    }

    fn csr() -> Value {
        json!({"metadata": {"name": "a"}, "spec": {"request": request(),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"], "username": "mallory", "groups": ["system:masters"]}})
    }

    #[test]
    fn create_takes_the_requester_from_the_user_not_the_body() {
        let mut object = csr();
        let user = UserInfo::authenticated(
            "system:bootstrap:abcdef",
            ["system:bootstrappers".to_owned()],
        );
        assert!(prepare_create(&user, &mut object).is_empty());
        assert_eq!(object["spec"]["username"], "system:bootstrap:abcdef");
        let groups = object["spec"]["groups"].as_array().unwrap();
        assert!(groups.contains(&json!("system:bootstrappers")));
        assert!(!groups.contains(&json!("system:masters")));
    }

    #[test]
    fn create_rejects_missing_request_bad_usage_and_short_expiry() {
        let mut object = json!({"spec": {"request": "bm90IGEgY3Ny", "usages": ["flying"], "expirationSeconds": 60}});
        let errors = prepare_create(&UserInfo::authenticated("u", []), &mut object);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.request",
                "spec.signerName",
                "spec.usages[0]",
                "spec.expirationSeconds"
            ]
        );
    }

    #[test]
    fn approval_writes_only_conditions_and_keeps_the_spec() {
        let old = csr();
        let mut requested = csr();
        requested["spec"]["username"] = "changed".into();
        requested["status"] =
            json!({"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Zm9v"});
        let merged = merge("approval", &old, &requested, requested.clone());
        assert_eq!(merged["spec"]["username"], "mallory");
        assert_eq!(merged["status"]["conditions"][0]["type"], "Approved");
        assert!(!text(&merged, "/status/conditions/0/lastTransitionTime").is_empty());
        assert!(merged.pointer("/status/certificate").is_none());
    }

    #[test]
    fn status_cannot_add_or_drop_approval_conditions() {
        let mut old = csr();
        old["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]});
        let mut requested = csr();
        requested["status"] =
            json!({"conditions": [{"type": "Denied", "status": "True"}], "certificate": "Zm9v"});
        let merged = merge("status", &old, &requested, requested.clone());
        let kept = conditions(&merged);
        let types: Vec<&str> = kept.iter().map(condition_type).collect();
        assert_eq!(types, ["Approved"]);
        assert_eq!(merged["status"]["certificate"], "Zm9v");
        assert!(validate_update(&old, &merged).is_empty());
    }

    #[test]
    fn certificate_needs_approval_and_is_immutable() {
        let old = csr();
        let mut new = csr();
        new["status"] = json!({"certificate": "Zm9v"});
        assert_eq!(validate_update(&old, &new)[0].field, "status.certificate");
        let mut both = csr();
        both["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]});
        assert!(!validate_update(&old, &both).is_empty());
        let mut issued = csr();
        issued["status"] =
            json!({"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Zm9v"});
        let mut changed = issued.clone();
        changed["status"]["certificate"] = "YmFy".into();
        assert!(!validate_update(&issued, &changed).is_empty());
        let mut dropped = issued.clone();
        dropped["status"]["conditions"] = json!([]);
        dropped["status"]["certificate"] = "Zm9v".into();
        assert!(!validate_update(&issued, &dropped).is_empty());
    }
}
