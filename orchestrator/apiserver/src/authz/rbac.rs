//! The RBAC authorizer: an in-memory view of Roles, ClusterRoles and bindings (kept current by a
//! watch in the server), evaluated as upstream's `RBACAuthorizer`.

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::Value;

use super::{Attributes, PolicyRule, MASTERS_GROUP};
use crate::authn::UserInfo;

/// The four RBAC resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RbacKind {
    /// `roles` (namespaced).
    Role,
    /// `clusterroles`.
    ClusterRole,
    /// `rolebindings` (namespaced).
    RoleBinding,
    /// `clusterrolebindings`.
    ClusterRoleBinding,
}

impl RbacKind {
    /// The kind of a resource plural of `rbac.authorization.k8s.io`.
    pub fn from_resource(resource: &str) -> Option<Self> {
        Some(match resource {
            "roles" => Self::Role,
            "clusterroles" => Self::ClusterRole,
            "rolebindings" => Self::RoleBinding,
            "clusterrolebindings" => Self::ClusterRoleBinding,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct Subject {
    kind: String,
    name: String,
    namespace: String,
}

#[derive(Debug, Clone)]
struct Binding {
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
}

impl Binding {
    fn from_json(binding: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        Self {
            role_kind: text(binding.pointer("/roleRef/kind")),
            role_name: text(binding.pointer("/roleRef/name")),
            subjects: binding
                .get("subjects")
                .and_then(Value::as_array)
                .map(|subjects| {
                    subjects
                        .iter()
                        .map(|s| Subject {
                            kind: text(s.get("kind")),
                            name: text(s.get("name")),
                            namespace: text(s.get("namespace")),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether the binding names the user, one of its groups, or its service account.
    fn binds(&self, user: &UserInfo, binding_namespace: &str) -> bool {
        self.subjects.iter().any(|s| match s.kind.as_str() {
            "User" => s.name == user.name,
            "Group" => user.in_group(&s.name),
            "ServiceAccount" => {
                let ns = if s.namespace.is_empty() {
                    binding_namespace
                } else {
                    &s.namespace
                };
                user.name == format!("system:serviceaccount:{ns}:{}", s.name)
            }
            _ => false,
        })
    }
}

#[derive(Debug, Default)]
struct Cache {
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    roles: HashMap<(String, String), Vec<PolicyRule>>,
    cluster_bindings: HashMap<String, Binding>,
    bindings: HashMap<(String, String), Binding>,
}

/// The RBAC state the authorizer evaluates; updated object by object as the store changes.
#[derive(Debug, Default)]
pub struct Rbac {
    cache: RwLock<Cache>,
}

impl Rbac {
    /// An empty view (denies everything but `system:masters`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `object` (or its deletion when `None`) of `kind` named `namespace/name`.
    pub fn apply(&self, kind: RbacKind, namespace: &str, name: &str, object: Option<&Value>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        let key = (namespace.to_owned(), name.to_owned());
        match (kind, object) {
            (RbacKind::ClusterRole, Some(o)) => {
                cache
                    .cluster_roles
                    .insert(name.to_owned(), PolicyRule::rules_of(o));
            }
            (RbacKind::ClusterRole, None) => {
                cache.cluster_roles.remove(name);
            }
            (RbacKind::Role, Some(o)) => {
                cache.roles.insert(key, PolicyRule::rules_of(o));
            }
            (RbacKind::Role, None) => {
                cache.roles.remove(&key);
            }
            (RbacKind::ClusterRoleBinding, Some(o)) => {
                cache
                    .cluster_bindings
                    .insert(name.to_owned(), Binding::from_json(o));
            }
            (RbacKind::ClusterRoleBinding, None) => {
                cache.cluster_bindings.remove(name);
            }
            (RbacKind::RoleBinding, Some(o)) => {
                cache.bindings.insert(key, Binding::from_json(o));
            }
            (RbacKind::RoleBinding, None) => {
                cache.bindings.remove(&key);
            }
        }
    }

    /// Forgets everything (before a full reload).
    pub fn clear(&self) {
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Cache::default();
    }

    /// Whether the request is allowed.
    pub fn authorize(&self, attrs: &Attributes) -> bool {
        if attrs.user.in_group(MASTERS_GROUP) {
            return true;
        }
        let mut allowed = false;
        self.visit_rules(&attrs.user, &attrs.namespace, |rule| {
            allowed = rule.allows(attrs);
            allowed
        });
        allowed
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide rules included), for
    /// SelfSubjectRulesReview.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        if user.in_group(MASTERS_GROUP) {
            return vec![
                PolicyRule {
                    verbs: vec!["*".into()],
                    api_groups: vec!["*".into()],
                    resources: vec!["*".into()],
                    ..Default::default()
                },
                PolicyRule {
                    verbs: vec!["*".into()],
                    non_resource_urls: vec!["*".into()],
                    ..Default::default()
                },
            ];
        }
        let mut rules = Vec::new();
        self.visit_rules(user, namespace, |rule| {
            rules.push(rule.clone());
            false
        });
        rules
    }

    /// Calls `visit` on each rule bound to `user` in `namespace` until it returns true.
    fn visit_rules(
        &self,
        user: &UserInfo,
        namespace: &str,
        mut visit: impl FnMut(&PolicyRule) -> bool,
    ) {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        for binding in cache.cluster_bindings.values() {
            if binding.role_kind == "ClusterRole" && binding.binds(user, "") {
                if let Some(rules) = cache.cluster_roles.get(&binding.role_name) {
                    if rules.iter().any(&mut visit) {
                        return;
                    }
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for ((ns, _), binding) in &cache.bindings {
            if ns != namespace || !binding.binds(user, ns) {
                continue;
            }
            let rules = match binding.role_kind.as_str() {
                "ClusterRole" => cache.cluster_roles.get(&binding.role_name),
                "Role" => cache.roles.get(&(ns.clone(), binding.role_name.clone())),
                _ => None,
            };
            if rules.is_some_and(|rules| rules.iter().any(&mut visit)) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo::authenticated(name, groups.iter().map(|g| (*g).to_owned()))
    }

    fn get_pods(user: UserInfo, namespace: &str) -> Attributes {
        Attributes {
            user,
            verb: "get".into(),
            resource_request: true,
            resource: "pods".into(),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    fn rbac_with_pod_reader() -> Rbac {
        let rbac = Rbac::new();
        rbac.apply(
            RbacKind::ClusterRole,
            "",
            "pod-reader",
            Some(&json!({"rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]})),
        );
        rbac
    }

    #[test]
    fn masters_may_do_anything_and_strangers_nothing() {
        let rbac = Rbac::new();
        assert!(rbac.authorize(&get_pods(user("admin", &[MASTERS_GROUP]), "a")));
        assert!(!rbac.authorize(&get_pods(user("jane", &[]), "a")));
    }

    #[test]
    fn a_role_binding_grants_a_cluster_role_only_in_its_namespace() {
        let rbac = rbac_with_pod_reader();
        rbac.apply(
            RbacKind::RoleBinding,
            "team",
            "jane-reads",
            Some(&json!({"roleRef": {"kind": "ClusterRole", "name": "pod-reader"}, "subjects": [{"kind": "User", "name": "jane"}]})),
        );
        assert!(rbac.authorize(&get_pods(user("jane", &[]), "team")));
        assert!(!rbac.authorize(&get_pods(user("jane", &[]), "other")));
        rbac.apply(RbacKind::RoleBinding, "team", "jane-reads", None);
        assert!(!rbac.authorize(&get_pods(user("jane", &[]), "team")));
    }

    #[test]
    fn cluster_bindings_match_groups_and_service_accounts() {
        let rbac = rbac_with_pod_reader();
        rbac.apply(
            RbacKind::ClusterRoleBinding,
            "",
            "readers",
            Some(
                &json!({"roleRef": {"kind": "ClusterRole", "name": "pod-reader"}, "subjects": [
                {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "bot", "namespace": "ci"}]}),
            ),
        );
        assert!(rbac.authorize(&get_pods(user("x", &["devs"]), "any")));
        assert!(rbac.authorize(&get_pods(user("system:serviceaccount:ci:bot", &[]), "")));
        assert!(!rbac.authorize(&get_pods(user("system:serviceaccount:other:bot", &[]), "")));
        assert_eq!(rbac.rules_for(&user("x", &["devs"]), "any").len(), 1);
    }
}
