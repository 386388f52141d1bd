//! The default ClusterRoles and ClusterRoleBindings a new cluster starts with (upstream
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`, rules as of v1.32).

use serde_json::{json, Value};

/// The names of the ClusterRoles created at first start.
pub const BOOTSTRAP_ROLE_NAMES: [&str; 10] = [
    "cluster-admin",
    "admin",
    "edit",
    "view",
    "system:discovery",
    "system:basic-user",
    "system:public-info-viewer",
    "system:node",
    "system:node-bootstrapper",
    "system:monitoring",
];

const READ: [&str; 3] = ["get", "list", "watch"];
const WRITE: [&str; 5] = ["create", "delete", "deletecollection", "patch", "update"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn urls(paths: &[&str], verbs: &[&str]) -> Value {
    json!({"nonResourceURLs": paths, "verbs": verbs})
}

fn metadata(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": metadata(name), "rules": rules})
}

fn binding(name: &str, role: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": metadata(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

fn view_rules() -> Vec<Value> {
    vec![
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            &READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            &READ,
        ),
        rule(&[""], &["namespaces"], &READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            &READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            &READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            &READ,
        ),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
            ],
            &READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            &READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            &READ,
        ),
    ]
}

fn edit_rules() -> Vec<Value> {
    let mut rules = vec![
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            &READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            &WRITE,
        ),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            &WRITE,
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            &WRITE,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], &WRITE),
        rule(&["batch"], &["cronjobs", "jobs"], &WRITE),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "ingresses",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
            ],
            &WRITE,
        ),
        rule(&["policy"], &["poddisruptionbudgets"], &WRITE),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            &WRITE,
        ),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
        ),
    ];
    rules.extend(view_rules());
    rules
}

fn admin_rules() -> Vec<Value> {
    let mut rules = vec![
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
        rule(
            &["rbac.authorization.k8s.io"],
            &["rolebindings", "roles"],
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
        ),
    ];
    rules.extend(edit_rules());
    rules
}

fn node_rules() -> Vec<Value> {
    vec![
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews", "subjectaccessreviews"],
            &["create"],
        ),
        rule(&[""], &["services"], &READ),
        rule(&[""], &["nodes"], &["create", "get", "list", "watch"]),
        rule(&[""], &["nodes/status"], &["patch", "update"]),
        rule(&[""], &["nodes"], &["delete", "patch", "update"]),
        rule(&[""], &["events"], &["create", "patch", "update"]),
        rule(
            &["events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        ),
        rule(&[""], &["pods"], &READ),
        rule(&[""], &["pods"], &["create", "delete"]),
        rule(&[""], &["pods/status"], &["patch", "update"]),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(&[""], &["configmaps", "secrets"], &["get", "list", "watch"]),
        rule(
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
            &["get"],
        ),
        rule(&[""], &["endpoints"], &["get"]),
        rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
        rule(
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
            &["create", "get", "list", "watch"],
        ),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["create", "delete", "get", "patch", "update"],
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
    ]
}

/// Every bootstrap object as `(resource plural, name, object)`: the ClusterRoles above and the
/// bindings that give `system:masters` cluster-admin, every authenticated user discovery and
/// self-review rights, everyone the public info, nodes `system:node` and bootstrap-token users
/// `system:node-bootstrapper`.
pub fn bootstrap_objects() -> Vec<(&'static str, String, Value)> {
    let all_urls = urls(&["*"], &["*"]);
    let roles = vec![
        cluster_role(
            "cluster-admin",
            vec![rule(&["*"], &["*"], &["*"]), all_urls],
        ),
        cluster_role("admin", admin_rules()),
        cluster_role("edit", edit_rules()),
        cluster_role("view", view_rules()),
        cluster_role(
            "system:discovery",
            vec![urls(
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
                &["get"],
            )],
        ),
        cluster_role(
            "system:basic-user",
            vec![
                rule(
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    &["create"],
                ),
                rule(
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                    &["create"],
                ),
            ],
        ),
        cluster_role(
            "system:public-info-viewer",
            vec![urls(
                &["/healthz", "/livez", "/readyz", "/version", "/version/"],
                &["get"],
            )],
        ),
        cluster_role("system:node", node_rules()),
        cluster_role(
            "system:node-bootstrapper",
            vec![rule(
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
                &["create", "get", "list", "watch"],
            )],
        ),
        cluster_role(
            "system:monitoring",
            vec![urls(
                &[
                    "/healthz",
                    "/healthz/*",
                    "/livez",
                    "/livez/*",
                    "/metrics",
                    "/metrics/slis",
                    "/readyz",
                    "/readyz/*",
                ],
                &["get"],
            )],
        ),
    ];
    let bindings = vec![
        binding("cluster-admin", "cluster-admin", &["system:masters"]),
        binding(
            "system:discovery",
            "system:discovery",
            &["system:authenticated"],
        ),
        binding(
            "system:basic-user",
            "system:basic-user",
            &["system:authenticated"],
        ),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
        binding("system:node", "system:node", &["system:nodes"]),
        binding(
            "system:node-bootstrapper",
            "system:node-bootstrapper",
            &["system:bootstrappers"],
        ),
        binding(
            "system:monitoring",
            "system:monitoring",
            &["system:monitoring"],
        ),
    ];
    let name_of = |o: &Value| {
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    roles
        .into_iter()
        .map(|r| ("clusterroles", name_of(&r), r))
        .chain(
            bindings
                .into_iter()
                .map(|b| ("clusterrolebindings", name_of(&b), b)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::UserInfo;
    use crate::authz::{Attributes, Rbac, RbacKind};

    fn loaded() -> Rbac {
        let rbac = Rbac::new();
        for (resource, name, object) in bootstrap_objects() {
            rbac.apply(
                RbacKind::from_resource(resource).unwrap(),
                "",
                &name,
                Some(&object),
            );
        }
        rbac
    }

    #[test]
    fn every_named_role_is_created() {
        let names: Vec<String> = bootstrap_objects()
            .into_iter()
            .filter(|(r, _, _)| *r == "clusterroles")
            .map(|(_, n, _)| n)
            .collect();
        assert_eq!(names, BOOTSTRAP_ROLE_NAMES);
    }

    #[test]
    fn authenticated_users_may_discover_and_review_themselves_but_not_read_pods() {
        let rbac = loaded();
        let user = UserInfo::authenticated("jane", []);
        let discover = Attributes {
            user: user.clone(),
            verb: "get".into(),
            path: "/apis/apps/v1".into(),
            ..Default::default()
        };
        assert!(rbac.authorize(&discover));
        let review = Attributes {
            user: user.clone(),
            verb: "create".into(),
            resource_request: true,
            api_group: "authorization.k8s.io".into(),
            resource: "selfsubjectaccessreviews".into(),
            ..Default::default()
        };
        assert!(rbac.authorize(&review));
        let pods = Attributes {
            user,
            verb: "list".into(),
            resource_request: true,
            resource: "pods".into(),
            namespace: "default".into(),
            ..Default::default()
        };
        assert!(!rbac.authorize(&pods));
    }
}
