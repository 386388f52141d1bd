//! Discovery documents built from the [`Registry`]: aggregated `apidiscovery.k8s.io/v2` for
//! `/api` and `/apis`, and the legacy `APIVersions`, `APIGroupList` and `APIResourceList`.
//!
//! Serve the aggregated form only when the request's `Accept` asks for it, and then with
//! [`AGGREGATED_CONTENT_TYPE`]; otherwise serve the legacy form as `application/json`.

use serde_json::{json, Value};

use super::{api_version, Registry, ResourceInfo};

/// The Content-Type of aggregated discovery; client-go picks the parser from it.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery (v2, or v2beta1 which gets v2).
pub fn accepts_aggregated(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or_default();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        base.eq_ignore_ascii_case("application/json")
            && param("g") == Some("apidiscovery.k8s.io")
            && param("v") == Some("v2")
            && param("as") == Some("APIGroupDiscoveryList")
    })
}

fn resource_discovery(r: &ResourceInfo) -> Value {
    // `singularResource` and `verbs` are not omitempty upstream: always present.
    let mut entry = json!({
        "resource": r.resource,
        "responseKind": r.gvk(),
        "scope": r.scope.as_str(),
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| json!({"subresource": s.name, "responseKind": s.response_kind, "verbs": s.verbs}))
            .collect();
        entry["subresources"] = json!(subs);
    }
    entry
}

fn group_discovery(registry: &Registry, group: &str, versions: &[String]) -> Value {
    let mut metadata = serde_json::Map::new();
    if !group.is_empty() {
        metadata.insert("name".to_owned(), json!(group));
    }
    metadata.insert("creationTimestamp".to_owned(), Value::Null);
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = registry
                .resources_in(group, v)
                .into_iter()
                .map(resource_discovery)
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": metadata, "versions": versions})
}

fn discovery_list(items: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// `GET /api` aggregated: one item (the core group) with version `v1`.
pub fn aggregated_core(registry: &Registry) -> Value {
    let items = registry
        .groups()
        .into_iter()
        .filter(|g| g.name.is_empty())
        .map(|g| group_discovery(registry, "", &g.versions))
        .collect();
    discovery_list(items)
}

/// `GET /apis` aggregated: every named group, preferred version first.
pub fn aggregated_groups(registry: &Registry) -> Value {
    let items = registry
        .groups()
        .into_iter()
        .filter(|g| !g.name.is_empty())
        .map(|g| group_discovery(registry, &g.name, &g.versions))
        .collect();
    discovery_list(items)
}

/// `GET /api` legacy: `APIVersions`, advertising `server_address` (`host:port`) to every client.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `GET /apis` legacy: `APIGroupList` with each group's versions and preferred version.
pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .into_iter()
        .filter(|g| !g.name.is_empty())
        .map(|g| api_group_value(&g.name, &g.versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn api_group_value(group: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": api_version(group, v), "version": v}))
        .collect();
    let preferred = entries.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": entries, "preferredVersion": preferred})
}

/// `GET /apis/<group>` legacy: one `APIGroup`, or `None` for an unknown group.
pub fn api_group(registry: &Registry, group: &str) -> Option<Value> {
    let g = registry
        .groups()
        .into_iter()
        .find(|g| g.name == group && !group.is_empty())?;
    let mut value = api_group_value(&g.name, &g.versions);
    let object = value.as_object_mut()?;
    let mut with_kind = serde_json::Map::new();
    with_kind.insert("kind".to_owned(), json!("APIGroup"));
    with_kind.insert("apiVersion".to_owned(), json!("v1"));
    with_kind.append(object);
    Some(Value::Object(with_kind))
}

/// `GET /api/v1` or `GET /apis/<group>/<version>` legacy: an `APIResourceList` with each
/// resource followed by its subresources (`pods`, `pods/log`, ...), or `None` if not served.
pub fn api_resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources = registry.resources_in(group, version);
    if resources.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    for r in resources {
        let mut entry = json!({
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced(),
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        entries.push(entry);
        for s in &r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.resource, s.name),
                "singularName": "",
                "namespaced": r.namespaced(),
            });
            if s.response_kind.group != r.group || s.response_kind.version != r.version {
                sub["group"] = json!(s.response_kind.group);
                sub["version"] = json!(s.response_kind.version);
            }
            sub["kind"] = json!(s.response_kind.kind);
            sub["verbs"] = json!(s.verbs);
            entries.push(sub);
        }
    }
    // Upstream omits apiVersion on the core list only.
    let mut list = serde_json::Map::new();
    list.insert("kind".to_owned(), json!("APIResourceList"));
    if !group.is_empty() {
        list.insert("apiVersion".to_owned(), json!("v1"));
    }
    list.insert(
        "groupVersion".to_owned(),
        json!(api_version(group, version)),
    );
    list.insert("resources".to_owned(), json!(entries));
    Some(Value::Object(list))
}
