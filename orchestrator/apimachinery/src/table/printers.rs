//! Upstream's per-resource column sets and row functions.

mod certificates;
mod config;
mod events;
mod network;
mod nodes;
mod pods;
mod storage;
mod workloads;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::age::{parse_time, since};
use super::value::text;
use super::{ColumnDefinition, Row};
use crate::registry::ResourceInfo;

/// `metav1.ObjectMeta{}.SwaggerDoc()["name"]`.
pub(crate) const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// `metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]`.
pub(crate) const CREATED_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// A static column: name, type, format, description, priority.
pub(crate) struct Col(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub i32,
);

/// The Name column.
pub(crate) const NAME: Col = Col("Name", "string", "name", NAME_DOC, 0);
/// The Age column.
pub(crate) const AGE: Col = Col("Age", "string", "", CREATED_DOC, 0);

/// Shorthand for a plain column.
pub(crate) const fn col(name: &'static str, ty: &'static str, description: &'static str) -> Col {
    Col(name, ty, "", description, 0)
}

/// Shorthand for a `-o wide` column.
pub(crate) const fn wide(name: &'static str, ty: &'static str, description: &'static str) -> Col {
    Col(name, ty, "", description, 1)
}

/// Columns plus the function computing a row's cells.
pub(crate) struct Printer {
    columns: &'static [Col],
    row: fn(&Value, OffsetDateTime) -> Row,
}

impl Printer {
    /// The column definitions.
    pub(crate) fn columns(&self) -> Vec<ColumnDefinition> {
        self.columns
            .iter()
            .map(
                |Col(name, ty, format, description, priority)| ColumnDefinition {
                    name: (*name).to_owned(),
                    column_type: (*ty).to_owned(),
                    format: (*format).to_owned(),
                    description: (*description).to_owned(),
                    priority: *priority,
                },
            )
            .collect()
    }

    /// One row for one object.
    pub(crate) fn row(&self, object: &Value, now: OffsetDateTime) -> Row {
        (self.row)(object, now)
    }
}

/// The printer upstream uses for a resource; Name + Created At for anything without one.
pub(crate) fn printer_for(resource: &ResourceInfo) -> Printer {
    if resource.custom {
        return Printer {
            columns: CUSTOM_COLUMNS,
            row: custom_row,
        };
    }
    let p = |columns, row| Printer { columns, row };
    match (resource.group.as_str(), resource.resource.as_str()) {
        ("", "pods") => p(pods::COLUMNS, pods::row),
        ("", "services") => p(network::SERVICE_COLUMNS, network::service_row),
        ("", "endpoints") => p(network::ENDPOINTS_COLUMNS, network::endpoints_row),
        ("discovery.k8s.io", "endpointslices") => p(network::SLICE_COLUMNS, network::slice_row),
        ("networking.k8s.io", "ingresses") => p(network::INGRESS_COLUMNS, network::ingress_row),
        ("networking.k8s.io", "ingressclasses") => {
            p(network::INGRESS_CLASS_COLUMNS, network::ingress_class_row)
        }
        ("", "nodes") => p(nodes::COLUMNS, nodes::row),
        ("apps", "deployments") => p(workloads::DEPLOYMENT_COLUMNS, workloads::deployment_row),
        ("apps", "replicasets") => p(workloads::REPLICASET_COLUMNS, workloads::replicaset_row),
        ("apps", "daemonsets") => p(workloads::DAEMONSET_COLUMNS, workloads::daemonset_row),
        ("apps", "statefulsets") => p(workloads::STATEFULSET_COLUMNS, workloads::statefulset_row),
        ("batch", "jobs") => p(workloads::JOB_COLUMNS, workloads::job_row),
        ("batch", "cronjobs") => p(workloads::CRONJOB_COLUMNS, workloads::cronjob_row),
        ("autoscaling", "horizontalpodautoscalers") => {
            p(workloads::HPA_COLUMNS, workloads::hpa_row)
        }
        ("" | "events.k8s.io", "events") => p(events::COLUMNS, events::row),
        ("", "persistentvolumeclaims") => p(storage::PVC_COLUMNS, storage::pvc_row),
        ("", "resourcequotas") => p(storage::QUOTA_COLUMNS, storage::quota_row),
        ("", "namespaces") => p(config::NAMESPACE_COLUMNS, config::namespace_row),
        ("", "configmaps") => p(config::CONFIGMAP_COLUMNS, config::configmap_row),
        ("", "secrets") => p(config::SECRET_COLUMNS, config::secret_row),
        ("", "serviceaccounts") => p(config::SERVICE_ACCOUNT_COLUMNS, config::service_account_row),
        ("certificates.k8s.io", "certificatesigningrequests") => {
            p(certificates::CSR_COLUMNS, certificates::csr_row)
        }
        ("coordination.k8s.io", "leases") => p(config::LEASE_COLUMNS, config::lease_row),
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => {
            p(config::ROLE_COLUMNS, config::role_row)
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            p(config::BINDING_COLUMNS, config::binding_row)
        }
        _ => p(DEFAULT_COLUMNS, default_row),
    }
}

/// Upstream's generic convertor (`registry/rest/table.go`): Name and Created At.
const DEFAULT_COLUMNS: &[Col] = &[NAME, Col("Created At", "date", "", CREATED_DOC, 0)];

fn default_row(object: &Value, _now: OffsetDateTime) -> Row {
    let created = parse_time(text(object, "/metadata/creationTimestamp"))
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok());
    vec![
        json!(text(object, "/metadata/name")),
        created.map_or(Value::Null, Value::from),
    ]
    .into()
}

/// Custom resources without printer columns: Name and Age (upstream's CRD default).
const CUSTOM_COLUMNS: &[Col] = &[NAME, Col("Age", "date", "", CREATED_DOC, 0)];

fn custom_row(object: &Value, now: OffsetDateTime) -> Row {
    vec![
        json!(text(object, "/metadata/name")),
        json!(age(object, now)),
    ]
    .into()
}

/// The Age cell of an object.
pub(crate) fn age(object: &Value, now: OffsetDateTime) -> String {
    since(
        object
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str),
        now,
    )
}

/// The name cell of an object.
pub(crate) fn name(object: &Value) -> Value {
    json!(text(object, "/metadata/name"))
}
