//! Every resource the API server serves: the built-in table (exactly upstream's names, short
//! names, categories, verbs and subresources) plus custom resources registered from CRDs at
//! runtime. Discovery documents ([`discovery`]) and request routing are derived from it.

mod builtin;
mod custom;
pub mod discovery;

use serde::Serialize;

pub use custom::{CustomResource, CustomVersion};

/// Why a custom resource could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The CRD is missing a field or has a malformed one.
    #[error("invalid custom resource definition {name:?}: {reason}")]
    InvalidDefinition {
        /// The CRD's `metadata.name` (or what was found of it).
        name: String,
        /// Which field is wrong.
        reason: String,
    },
    /// The CRD would shadow a built-in resource.
    #[error("custom resource {resource}.{group} conflicts with a built-in resource")]
    ConflictsWithBuiltin {
        /// The plural.
        resource: String,
        /// The API group.
        group: String,
    },
}

/// Result of registry operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Group, version and kind, serialised as upstream's `responseKind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct GroupVersionKind {
    /// API group, empty for core.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

impl GroupVersionKind {
    /// Builds a GVK from borrowed parts.
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// `v1` for core, `apps/v1` otherwise: the object's `apiVersion`.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }
}

/// `v1` for core, `group/version` otherwise.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// Whether objects live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `/namespaces/<ns>/<resource>`.
    Namespaced,
    /// `/<resource>` only.
    Cluster,
}

impl Scope {
    /// `Namespaced` or `Cluster`, as in aggregated discovery and CRDs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Namespaced => "Namespaced",
            Self::Cluster => "Cluster",
        }
    }
}

/// A subresource such as `status`, `scale`, `log` or `exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    /// The path segment after the object name, e.g. `scale`.
    pub name: String,
    /// What it returns, e.g. `autoscaling/v1 Scale` for `deployments/scale`.
    pub response_kind: GroupVersionKind,
    /// The verbs it supports, e.g. `get`, `patch`, `update`.
    pub verbs: Vec<String>,
}

/// Everything about one served resource at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group, empty for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// The plural, used in URLs.
    pub resource: String,
    /// The singular, accepted by kubectl (`kubectl get pod`); empty where upstream leaves it empty.
    pub singular: String,
    /// The kind of one object.
    pub kind: String,
    /// The kind of a list, e.g. `PodList`.
    pub list_kind: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Short names, e.g. `po`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Verbs on the resource itself, as upstream lists them.
    pub verbs: Vec<String>,
    /// Subresources, sorted by name.
    pub subresources: Vec<Subresource>,
    /// Whether this entry comes from a CRD.
    pub custom: bool,
    /// Extra field-selector labels of a custom resource (`selectableFields`, e.g. `spec.color`).
    pub selectable_fields: Vec<String>,
}

impl ResourceInfo {
    /// The object's `apiVersion`: `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// The GVK of one object.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }

    /// Whether objects live in a namespace.
    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// Whether the resource supports `verb` (`get`, `list`, `watch`, `create`, ...).
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The named subresource, if the resource has it.
    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether `status` is a separate subresource (so writes to the main resource keep status).
    pub fn has_status_subresource(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// `pods` or `deployments.apps`, as in error messages and `kubectl` output.
    pub fn qualified_resource(&self) -> String {
        crate::status::qualified(&self.resource, &self.group)
    }

    /// Whether `name` refers to this resource as kubectl would resolve it: plural, singular,
    /// short name or lowercase kind, optionally suffixed by `.group` or `.version.group`.
    pub fn is_named(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (base, suffix) = match name.split_once('.') {
            Some((b, s)) => (b, Some(s)),
            None => (name.as_str(), None),
        };
        let group_ok = match suffix {
            None => true,
            Some(s) => s == self.group || s == format!("{}.{}", self.version, self.group),
        };
        group_ok
            && (base == self.resource
                || (!self.singular.is_empty() && base == self.singular)
                || base == self.kind.to_ascii_lowercase()
                || self.short_names.iter().any(|s| s == base))
    }
}

/// Served resources: built-ins plus custom resources, in discovery order.
#[derive(Debug, Clone)]
pub struct Registry {
    resources: Vec<ResourceInfo>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The built-in resources of issue #3, exactly as a v1.32 kube-apiserver describes them.
    pub fn builtin() -> Self {
        Self {
            resources: builtin::resources(),
        }
    }

    /// Every resource, core first, then groups in discovery order.
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }

    /// The resource at `/apis/<group>/<version>/<plural>` (`group` empty for `/api/v1`).
    pub fn get(&self, group: &str, version: &str, resource: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.resource == resource)
    }

    /// The resource serving `kind` in `group` at `version`.
    pub fn by_gvk(&self, group: &str, version: &str, kind: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
    }

    /// The resource serving `kind` in `group`, at the group's preferred version.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&ResourceInfo> {
        let preferred = self.preferred_version(group)?;
        self.by_gvk(group, &preferred, kind)
    }

    /// The resource for an object's `apiVersion` and `kind`.
    pub fn for_api_version(&self, api_version: &str, kind: &str) -> Option<&ResourceInfo> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.by_gvk(group, version, kind)
    }

    /// Resolves what a user typed (`po`, `pod`, `pods`, `deploy`, `deployments.apps`, `crd`)
    /// the way kubectl does: core first, then groups in discovery order, preferred versions only.
    pub fn resolve(&self, name: &str) -> Option<&ResourceInfo> {
        self.groups()
            .into_iter()
            .filter_map(|g| g.versions.first().map(|v| (g.name.clone(), v.clone())))
            .flat_map(|(g, v)| self.resources_in(&g, &v))
            .find(|r| r.is_named(name))
    }

    /// The resources of every preferred version in `category` (`all` for `kubectl get all`).
    pub fn in_category(&self, category: &str) -> Vec<&ResourceInfo> {
        self.groups()
            .into_iter()
            .filter_map(|g| g.versions.first().map(|v| (g.name.clone(), v.clone())))
            .flat_map(|(g, v)| self.resources_in(&g, &v))
            .filter(|r| r.categories.iter().any(|c| c == category))
            .collect()
    }

    /// The resources of one group version, sorted by plural.
    pub fn resources_in(&self, group: &str, version: &str) -> Vec<&ResourceInfo> {
        let mut list: Vec<&ResourceInfo> = self
            .resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .collect();
        list.sort_by(|a, b| a.resource.cmp(&b.resource));
        list
    }

    /// The groups with their versions, preferred version first; core (`""`) first, then
    /// upstream's priority order, custom groups, and `metrics.k8s.io` last.
    pub fn groups(&self) -> Vec<GroupVersions> {
        let mut groups: Vec<GroupVersions> = Vec::new();
        for r in &self.resources {
            match groups.iter_mut().find(|g| g.name == r.group) {
                Some(g) if !g.versions.contains(&r.version) => g.versions.push(r.version.clone()),
                Some(_) => {}
                None => groups.push(GroupVersions {
                    name: r.group.clone(),
                    versions: vec![r.version.clone()],
                }),
            }
        }
        for g in &mut groups {
            g.versions.sort_by(|a, b| custom::compare_versions(b, a));
        }
        groups.sort_by(|a, b| {
            builtin::group_priority(&b.name)
                .cmp(&builtin::group_priority(&a.name))
                .then(a.name.cmp(&b.name))
        });
        groups
    }

    /// The preferred (first) version of a group.
    pub fn preferred_version(&self, group: &str) -> Option<String> {
        self.groups()
            .into_iter()
            .find(|g| g.name == group)
            .and_then(|g| g.versions.into_iter().next())
    }

    /// Adds or replaces the served versions of a custom resource; returns the entries added.
    pub fn register_custom(&mut self, custom: &CustomResource) -> Result<Vec<ResourceInfo>> {
        if self
            .resources
            .iter()
            .any(|r| !r.custom && r.group == custom.group && r.resource == custom.plural)
        {
            return Err(Error::ConflictsWithBuiltin {
                resource: custom.plural.clone(),
                group: custom.group.clone(),
            });
        }
        self.unregister_custom(&custom.group, &custom.plural);
        let added = custom.resource_infos();
        self.resources.extend(added.iter().cloned());
        Ok(added)
    }

    /// Registers the custom resource a `CustomResourceDefinition` object (JSON) describes.
    pub fn register_crd(&mut self, crd: &serde_json::Value) -> Result<Vec<ResourceInfo>> {
        let custom = CustomResource::from_crd(crd)?;
        self.register_custom(&custom)
    }

    /// Removes a custom resource (all versions); returns whether anything was removed.
    pub fn unregister_custom(&mut self, group: &str, plural: &str) -> bool {
        let before = self.resources.len();
        self.resources
            .retain(|r| !(r.custom && r.group == group && r.resource == plural));
        self.resources.len() != before
    }
}

/// One API group and its served versions, preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersions {
    /// The group name, empty for core.
    pub name: String,
    /// Versions, preferred first.
    pub versions: Vec<String>,
}

#[cfg(test)]
mod tests;
