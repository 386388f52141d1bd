//! Custom resources: what a CustomResourceDefinition adds to the registry.

use std::cmp::Ordering;

use serde_json::Value;

use super::{Error, GroupVersionKind, ResourceInfo, Result, Scope, Subresource};

/// Verbs of a custom resource, in the order upstream's apiextensions server lists them.
const CUSTOM_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// One served version of a custom resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomVersion {
    /// The version name, e.g. `v1alpha1`.
    pub name: String,
    /// Whether `status` is a subresource.
    pub status: bool,
    /// Whether `scale` is a subresource.
    pub scale: bool,
    /// `selectableFields[].jsonPath` without the leading dot, e.g. `spec.color`.
    pub selectable_fields: Vec<String>,
}

/// The discovery-relevant part of a CRD: group, names, scope and served versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomResource {
    /// `spec.group`.
    pub group: String,
    /// `spec.names.plural`.
    pub plural: String,
    /// `spec.names.singular` (defaults to the lowercase kind).
    pub singular: String,
    /// `spec.names.kind`.
    pub kind: String,
    /// `spec.names.listKind` (defaults to `<kind>List`).
    pub list_kind: String,
    /// `spec.scope`.
    pub scope: Scope,
    /// `spec.names.shortNames`.
    pub short_names: Vec<String>,
    /// `spec.names.categories`.
    pub categories: Vec<String>,
    /// Versions with `served: true`.
    pub versions: Vec<CustomVersion>,
}

fn strings_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl CustomResource {
    /// Reads a `CustomResourceDefinition` (apiextensions.k8s.io/v1) given as JSON.
    pub fn from_crd(crd: &Value) -> Result<Self> {
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let text = |pointer: &str| {
            crd.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let required = |pointer: &str, field: &str| {
            let value = text(pointer);
            if value.is_empty() {
                Err(Error::InvalidDefinition {
                    name: name.clone(),
                    reason: format!("{field} is required"),
                })
            } else {
                Ok(value)
            }
        };
        let group = required("/spec/group", "spec.group")?;
        let plural = required("/spec/names/plural", "spec.names.plural")?;
        let kind = required("/spec/names/kind", "spec.names.kind")?;
        let scope = match text("/spec/scope").as_str() {
            "Namespaced" => Scope::Namespaced,
            "Cluster" => Scope::Cluster,
            other => {
                return Err(Error::InvalidDefinition {
                    name,
                    reason: format!("spec.scope must be Namespaced or Cluster, not {other:?}"),
                })
            }
        };
        let mut singular = text("/spec/names/singular");
        if singular.is_empty() {
            singular = kind.to_ascii_lowercase();
        }
        let mut list_kind = text("/spec/names/listKind");
        if list_kind.is_empty() {
            list_kind = format!("{kind}List");
        }
        let versions: Vec<CustomVersion> = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
            .filter_map(|v| {
                Some(CustomVersion {
                    name: v.get("name")?.as_str()?.to_owned(),
                    status: v.pointer("/subresources/status").is_some(),
                    scale: v.pointer("/subresources/scale").is_some(),
                    selectable_fields: v
                        .get("selectableFields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_owned())
                        .collect(),
                })
            })
            .collect();
        if versions.is_empty() {
            return Err(Error::InvalidDefinition {
                name,
                reason: "spec.versions has no served version".to_owned(),
            });
        }
        Ok(Self {
            group,
            plural,
            singular,
            kind,
            list_kind,
            scope,
            short_names: strings_at(crd, "/spec/names/shortNames"),
            categories: strings_at(crd, "/spec/names/categories"),
            versions,
        })
    }

    /// The registry entries, one per served version.
    pub fn resource_infos(&self) -> Vec<ResourceInfo> {
        self.versions
            .iter()
            .map(|v| {
                let mut subresources = Vec::new();
                if v.scale {
                    subresources.push(Subresource {
                        name: "scale".to_owned(),
                        response_kind: GroupVersionKind::new("autoscaling", "v1", "Scale"),
                        verbs: vec!["get".to_owned(), "patch".to_owned(), "update".to_owned()],
                    });
                }
                if v.status {
                    subresources.push(Subresource {
                        name: "status".to_owned(),
                        response_kind: GroupVersionKind::new(&self.group, &v.name, &self.kind),
                        verbs: vec!["get".to_owned(), "patch".to_owned(), "update".to_owned()],
                    });
                }
                ResourceInfo {
                    group: self.group.clone(),
                    version: v.name.clone(),
                    resource: self.plural.clone(),
                    singular: self.singular.clone(),
                    kind: self.kind.clone(),
                    list_kind: self.list_kind.clone(),
                    scope: self.scope,
                    short_names: self.short_names.clone(),
                    categories: self.categories.clone(),
                    verbs: CUSTOM_VERBS.iter().map(|s| (*s).to_owned()).collect(),
                    subresources,
                    custom: true,
                    selectable_fields: v.selectable_fields.clone(),
                }
            })
            .collect()
    }
}

/// Parses `v<major>[(alpha|beta)<minor>]`: (major, stability rank, minor).
fn kube_version(v: &str) -> Option<(u64, u8, u64)> {
    let rest = v.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u64 = rest[..digits].parse().ok()?;
    let tail = &rest[digits..];
    if tail.is_empty() {
        return Some((major, 2, 0));
    }
    let (rank, minor) = if let Some(m) = tail.strip_prefix("beta") {
        (1, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (0, m)
    } else {
        return None;
    };
    Some((major, rank, minor.parse().ok()?))
}

/// Upstream's kube-aware version order: GA > beta > alpha, higher numbers first among equals,
/// non-kube-like versions last in lexical order. `Less` means `a` is preferred less than `b`.
pub(super) fn compare_versions(a: &str, b: &str) -> Ordering {
    match (kube_version(a), kube_version(b)) {
        (Some((ma, ra, na)), Some((mb, rb, nb))) => ra.cmp(&rb).then(ma.cmp(&mb)).then(na.cmp(&nb)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => b.cmp(a),
    }
}
