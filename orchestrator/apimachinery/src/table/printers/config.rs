//! Namespaces, ConfigMaps, Secrets, ServiceAccounts, Leases and RBAC objects.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{age, col, default_row, name, wide, Col, Row, AGE, NAME};
use crate::table::value::{list, map_len, text};

pub(crate) const NAMESPACE_COLUMNS: &[Col] = &[
    NAME,
    col("Status", "string", "The status of the namespace"),
    AGE,
];

pub(crate) fn namespace_row(ns: &Value, now: OffsetDateTime) -> Row {
    vec![
        name(ns),
        json!(text(ns, "/status/phase")),
        json!(age(ns, now)),
    ]
    .into()
}

pub(crate) const CONFIGMAP_COLUMNS: &[Col] = &[
    NAME,
    col("Data", "string", "Data contains the configuration data."),
    AGE,
];

pub(crate) fn configmap_row(cm: &Value, now: OffsetDateTime) -> Row {
    let entries = map_len(cm, "/data") + map_len(cm, "/binaryData");
    vec![name(cm), json!(entries), json!(age(cm, now))].into()
}

pub(crate) const SECRET_COLUMNS: &[Col] = &[
    NAME,
    col("Type", "string", "The type of the secret"),
    col("Data", "string", "Data contains the secret data."),
    AGE,
];

pub(crate) fn secret_row(secret: &Value, now: OffsetDateTime) -> Row {
    vec![
        name(secret),
        json!(text(secret, "/type")),
        json!(map_len(secret, "/data")),
        json!(age(secret, now)),
    ]
    .into()
}

pub(crate) const SERVICE_ACCOUNT_COLUMNS: &[Col] = &[
    NAME,
    col("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
    AGE,
];

pub(crate) fn service_account_row(sa: &Value, now: OffsetDateTime) -> Row {
    vec![
        name(sa),
        json!(list(sa, "/secrets").len()),
        json!(age(sa, now)),
    ]
    .into()
}

pub(crate) const LEASE_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Holder",
        "string",
        "holderIdentity contains the identity of the holder of a current lease.",
    ),
    AGE,
];

pub(crate) fn lease_row(lease: &Value, now: OffsetDateTime) -> Row {
    vec![
        name(lease),
        json!(text(lease, "/spec/holderIdentity")),
        json!(age(lease, now)),
    ]
    .into()
}

/// Roles and ClusterRoles print like the generic convertor: Name and Created At.
pub(crate) const ROLE_COLUMNS: &[Col] = super::DEFAULT_COLUMNS;

pub(crate) fn role_row(role: &Value, now: OffsetDateTime) -> Row {
    default_row(role, now)
}

pub(crate) const BINDING_COLUMNS: &[Col] = &[
    NAME,
    col("Role", "string", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
];

pub(crate) fn binding_row(binding: &Value, now: OffsetDateTime) -> Row {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut accounts = Vec::new();
    for subject in list(binding, "/subjects") {
        let subject_name = text(subject, "/name");
        match text(subject, "/kind") {
            "User" => users.push(subject_name.to_owned()),
            "Group" => groups.push(subject_name.to_owned()),
            "ServiceAccount" => {
                accounts.push(format!("{}/{subject_name}", text(subject, "/namespace")))
            }
            _ => {}
        }
    }
    vec![
        name(binding),
        json!(format!(
            "{}/{}",
            text(binding, "/roleRef/kind"),
            text(binding, "/roleRef/name")
        )),
        json!(age(binding, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(accounts.join(", ")),
    ]
    .into()
}
