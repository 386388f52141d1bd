//! One RBAC rule and how it matches a request (upstream `rbac/v1/evaluation_helpers.go`).

use serde_json::Value;

use super::Attributes;

/// An RBAC `PolicyRule`, read from a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    /// Verbs, `*` for all.
    pub verbs: Vec<String>,
    /// API groups, `*` for all.
    pub api_groups: Vec<String>,
    /// Resources (`pods`, `pods/log`, `*/scale`, `*`).
    pub resources: Vec<String>,
    /// Object names; empty allows every name.
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/healthz`, `/api/*`).
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// The rule of a JSON `PolicyRule` (missing lists are empty).
    pub fn from_json(rule: &Value) -> Self {
        let list = |key: &str| -> Vec<String> {
            rule.get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        }
    }

    /// The rules of a Role or ClusterRole object.
    pub fn rules_of(role: &Value) -> Vec<Self> {
        role.get("rules")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().map(Self::from_json).collect())
            .unwrap_or_default()
    }

    /// Whether this rule allows the request.
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if !self.verbs.iter().any(|v| v == "*" || *v == attrs.verb) {
            return false;
        }
        if !attrs.resource_request {
            return self.non_resource_urls.iter().any(|url| {
                url == "*"
                    || *url == attrs.path
                    || url
                        .strip_suffix('*')
                        .is_some_and(|prefix| attrs.path.starts_with(prefix))
            });
        }
        if !self
            .api_groups
            .iter()
            .any(|g| g == "*" || *g == attrs.api_group)
        {
            return false;
        }
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (!attrs.subresource.is_empty()
                    && r.strip_prefix("*/") == Some(attrs.subresource.as_str()))
        });
        resource_ok && (self.resource_names.is_empty() || self.resource_names.contains(&attrs.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn verbs_groups_and_resources_must_all_match() {
        let rule = PolicyRule::from_json(
            &json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}),
        );
        assert!(rule.allows(&attrs("get", "", "pods", "", "x")));
        assert!(!rule.allows(&attrs("delete", "", "pods", "", "x")));
        assert!(!rule.allows(&attrs("get", "apps", "pods", "", "x")));
        assert!(
            !rule.allows(&attrs("get", "", "pods", "log", "x")),
            "subresources need their own rule"
        );
    }

    #[test]
    fn star_slash_subresource_and_resource_names_match_as_upstream() {
        let rule = PolicyRule::from_json(
            &json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/scale"], "resourceNames": ["web"]}),
        );
        assert!(rule.allows(&attrs("patch", "apps", "deployments", "scale", "web")));
        assert!(!rule.allows(&attrs("patch", "apps", "deployments", "scale", "db")));
        assert!(!rule.allows(&attrs("patch", "apps", "deployments", "", "web")));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_star_suffix() {
        let rule = PolicyRule::from_json(
            &json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}),
        );
        let path = |p: &str| Attributes {
            verb: "get".into(),
            path: p.into(),
            ..Default::default()
        };
        assert!(rule.allows(&path("/healthz")));
        assert!(rule.allows(&path("/apis/apps/v1")));
        assert!(!rule.allows(&path("/metrics")));
    }
}
