//! What a request asks for: resource or not, group, version, namespace, resource, name, subresource
//! and verb — parsed from the path, method and query like upstream's `RequestInfoFactory`.

use std::collections::HashMap;

/// The parsed meaning of one request, the input of routing and authorization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether the path names an API resource (`/api/v1/...`, `/apis/g/v/...` with a resource).
    pub is_resource_request: bool,
    /// The request path, without query.
    pub path: String,
    /// The Kubernetes verb: `get list watch create update patch delete deletecollection` for resources,
    /// the lowercase HTTP method otherwise.
    pub verb: String,
    /// `api` or `apis` (empty for non-resource paths outside both).
    pub api_prefix: String,
    /// The API group (`""` for core).
    pub api_group: String,
    /// The API version.
    pub api_version: String,
    /// The namespace from the path (`""` for cluster-scoped or all-namespaces requests).
    pub namespace: String,
    /// The resource (plural), e.g. `pods`.
    pub resource: String,
    /// The subresource, e.g. `status` or `scale`.
    pub subresource: String,
    /// The object name from the path.
    pub name: String,
    /// The path segments after group/version and namespace.
    pub parts: Vec<String>,
}

/// Namespace subresources: `/api/v1/namespaces/x/status` is the namespace's status, not a resource.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl RequestInfo {
    /// Parses `method`, `path` and the decoded query parameters.
    pub fn parse(method: &str, path: &str, query: &HashMap<String, String>) -> Self {
        let mut info = RequestInfo {
            path: path.to_owned(),
            verb: method.to_ascii_lowercase(),
            ..Default::default()
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let prefix = parts.first().copied().unwrap_or_default();
        if prefix != "api" && prefix != "apis" {
            return info;
        }
        info.api_prefix = prefix.to_owned();
        let rest = if prefix == "api" {
            if parts.len() < 3 {
                return info;
            }
            info.api_version = parts[1].to_owned();
            &parts[2..]
        } else {
            if parts.len() < 4 {
                if parts.len() >= 2 {
                    info.api_group = parts[1].to_owned();
                }
                if parts.len() >= 3 {
                    info.api_version = parts[2].to_owned();
                }
                return info;
            }
            info.api_group = parts[1].to_owned();
            info.api_version = parts[2].to_owned();
            &parts[3..]
        };
        if rest.iter().any(|p| p.is_empty()) {
            return info;
        }
        info.is_resource_request = true;
        info.verb = match method {
            "POST" => "create",
            "GET" | "HEAD" => "get",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => "",
        }
        .to_owned();
        let mut rest = rest;
        if rest.first() == Some(&"watch") {
            info.verb = "watch".to_owned();
            rest = &rest[1..];
        }
        if rest.first() == Some(&"namespaces") && rest.len() > 1 {
            info.namespace = rest[1].to_owned();
            if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
                rest = &rest[2..];
            }
        }
        info.parts = rest.iter().map(|s| (*s).to_owned()).collect();
        if let Some(resource) = rest.first() {
            info.resource = (*resource).to_owned();
        }
        if let Some(name) = rest.get(1) {
            info.name = (*name).to_owned();
        }
        if let Some(sub) = rest.get(2) {
            info.subresource = (*sub).to_owned();
        }
        if info.name.is_empty() && info.verb == "get" {
            info.verb = if is_true(query.get("watch")) {
                "watch"
            } else {
                "list"
            }
            .to_owned();
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".to_owned();
        }
        info
    }

    /// The object name authorization sees: the path's, or for list/watch the name a
    /// `metadata.name=X` field selector pins (so RBAC `resourceNames` can allow single-object watches).
    pub fn authorization_name(&self, query: &HashMap<String, String>) -> String {
        if !self.name.is_empty() || !matches!(self.verb.as_str(), "list" | "watch") {
            return self.name.clone();
        }
        query
            .get("fieldSelector")
            .and_then(|s| exact_name_match(s))
            .unwrap_or_default()
    }
}

/// Whether a boolean query value is set (`true` or `1`, as upstream's parameter codec accepts).
pub fn is_true(value: Option<&String>) -> bool {
    matches!(value.map(String::as_str), Some("true" | "1" | "True"))
}

/// The name a field selector requires exactly (`metadata.name=X` or `metadata.name==X` as its only
/// term), as upstream's `RequiresExactMatch`.
fn exact_name_match(selector: &str) -> Option<String> {
    if selector.contains(',') {
        return None;
    }
    let value = selector
        .strip_prefix("metadata.name==")
        .or_else(|| selector.strip_prefix("metadata.name="))?;
    (!value.is_empty() && !value.contains('/')).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, path: &str, query: &[(&str, &str)]) -> RequestInfo {
        let q = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RequestInfo::parse(method, path, &q)
    }

    #[test]
    fn namespaced_pod_get_names_every_part() {
        let info = parse("GET", "/api/v1/namespaces/default/pods/web", &[]);
        assert!(info.is_resource_request);
        assert_eq!(
            (
                info.verb.as_str(),
                info.api_group.as_str(),
                info.api_version.as_str(),
                info.namespace.as_str(),
                info.resource.as_str(),
                info.name.as_str()
            ),
            ("get", "", "v1", "default", "pods", "web")
        );
    }

    #[test]
    fn collection_get_is_list_or_watch() {
        assert_eq!(parse("GET", "/apis/apps/v1/deployments", &[]).verb, "list");
        let watch = parse(
            "GET",
            "/apis/apps/v1/namespaces/a/deployments",
            &[("watch", "true")],
        );
        assert_eq!(
            (watch.verb.as_str(), watch.api_group.as_str()),
            ("watch", "apps")
        );
        assert_eq!(parse("GET", "/api/v1/watch/pods", &[]).verb, "watch");
    }

    #[test]
    fn subresources_and_namespace_status_are_recognised() {
        let scale = parse(
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/d/scale",
            &[],
        );
        assert_eq!(
            (scale.resource.as_str(), scale.subresource.as_str()),
            ("deployments", "scale")
        );
        let ns = parse("PUT", "/api/v1/namespaces/kube-system/status", &[]);
        assert_eq!(
            (
                ns.resource.as_str(),
                ns.name.as_str(),
                ns.subresource.as_str(),
                ns.namespace.as_str()
            ),
            ("namespaces", "kube-system", "status", "kube-system")
        );
        let ns = parse("GET", "/api/v1/namespaces/kube-system", &[]);
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_str()),
            ("namespaces", "kube-system")
        );
    }

    #[test]
    fn delete_without_name_is_deletecollection() {
        assert_eq!(
            parse("DELETE", "/api/v1/namespaces/a/configmaps", &[]).verb,
            "deletecollection"
        );
    }

    #[test]
    fn discovery_and_health_paths_are_not_resource_requests() {
        for path in [
            "/api",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/api/v1",
            "/healthz",
            "/version",
        ] {
            let info = parse("GET", path, &[]);
            assert!(!info.is_resource_request, "{path}");
            assert_eq!(info.verb, "get");
        }
    }

    #[test]
    fn field_selector_on_name_gives_the_authorization_name() {
        let query: HashMap<String, String> =
            [("fieldSelector".to_owned(), "metadata.name=web".to_owned())].into();
        let info = RequestInfo::parse("GET", "/api/v1/namespaces/a/pods", &query);
        assert_eq!(info.authorization_name(&query), "web");
        assert_eq!(info.name, "");
    }
}
