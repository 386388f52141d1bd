//! The built-in resource table, copied from a v1.32 kube-apiserver's discovery documents.

use super::{GroupVersionKind, ResourceInfo, Scope, Subresource};

/// Verbs of an ordinary stored resource, in upstream's (alphabetical) order.
const FULL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// `namespaces` have no `deletecollection`.
const NO_DELETECOLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// Review resources are create-only.
const CREATE: &[&str] = &["create"];
/// metrics.k8s.io serves reads only.
const READ: &[&str] = &["get", "list"];
/// Verbs of `status` and `scale`.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// Verbs of the proxy subresources.
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
/// Verbs of `exec`, `attach`, `portforward`.
const CONNECT: &[&str] = &["create", "get"];

/// A subresource; `None` group/version/kind mean "the parent's".
struct Sub {
    name: &'static str,
    kind: Option<(&'static str, &'static str, &'static str)>,
    verbs: &'static [&'static str],
}

const STATUS: Sub = Sub {
    name: "status",
    kind: None,
    verbs: GET_PATCH_UPDATE,
};
const SCALE: Sub = Sub {
    name: "scale",
    kind: Some(("autoscaling", "v1", "Scale")),
    verbs: GET_PATCH_UPDATE,
};

const fn sub(name: &'static str, kind: &'static str, verbs: &'static [&'static str]) -> Sub {
    Sub {
        name,
        kind: Some(("", "v1", kind)),
        verbs,
    }
}

struct Spec {
    gv: (&'static str, &'static str),
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    verbs: &'static [&'static str],
    subs: &'static [Sub],
}

const CORE: (&str, &str) = ("", "v1");
const APPS: (&str, &str) = ("apps", "v1");
const BATCH: (&str, &str) = ("batch", "v1");
const NETWORKING: (&str, &str) = ("networking.k8s.io", "v1");
const RBAC: (&str, &str) = ("rbac.authorization.k8s.io", "v1");
const AUTHZ: (&str, &str) = ("authorization.k8s.io", "v1");
const AUTHN: (&str, &str) = ("authentication.k8s.io", "v1");
const METRICS: (&str, &str) = ("metrics.k8s.io", "v1beta1");
const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

#[rustfmt::skip]
const SPECS: &[Spec] = &[
    // core/v1
    Spec { gv: CORE, resource: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true, short: &["cm"], categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: CORE, resource: "endpoints", singular: "endpoints", kind: "Endpoints", namespaced: true, short: &["ep"], categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: CORE, resource: "events", singular: "event", kind: "Event", namespaced: true, short: &["ev"], categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: CORE, resource: "limitranges", singular: "limitrange", kind: "LimitRange", namespaced: true, short: &["limits"], categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: CORE, resource: "namespaces", singular: "namespace", kind: "Namespace", namespaced: false, short: &["ns"], categories: NONE, verbs: NO_DELETECOLLECTION,
        subs: &[sub("finalize", "Namespace", &["update"]), STATUS] },
    Spec { gv: CORE, resource: "nodes", singular: "node", kind: "Node", namespaced: false, short: &["no"], categories: NONE, verbs: FULL,
        subs: &[sub("proxy", "NodeProxyOptions", PROXY), STATUS] },
    Spec { gv: CORE, resource: "persistentvolumeclaims", singular: "persistentvolumeclaim", kind: "PersistentVolumeClaim", namespaced: true, short: &["pvc"], categories: NONE, verbs: FULL, subs: &[STATUS] },
    Spec { gv: CORE, resource: "pods", singular: "pod", kind: "Pod", namespaced: true, short: &["po"], categories: ALL, verbs: FULL,
        subs: &[
            sub("attach", "PodAttachOptions", CONNECT),
            sub("binding", "Binding", CREATE),
            sub("ephemeralcontainers", "Pod", GET_PATCH_UPDATE),
            Sub { name: "eviction", kind: Some(("policy", "v1", "Eviction")), verbs: CREATE },
            sub("exec", "PodExecOptions", CONNECT),
            sub("log", "Pod", &["get"]),
            sub("portforward", "PodPortForwardOptions", CONNECT),
            sub("proxy", "PodProxyOptions", PROXY),
            STATUS,
        ] },
    Spec { gv: CORE, resource: "resourcequotas", singular: "resourcequota", kind: "ResourceQuota", namespaced: true, short: &["quota"], categories: NONE, verbs: FULL, subs: &[STATUS] },
    Spec { gv: CORE, resource: "secrets", singular: "secret", kind: "Secret", namespaced: true, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: CORE, resource: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", namespaced: true, short: &["sa"], categories: NONE, verbs: FULL,
        subs: &[Sub { name: "token", kind: Some(("authentication.k8s.io", "v1", "TokenRequest")), verbs: CREATE }] },
    Spec { gv: CORE, resource: "services", singular: "service", kind: "Service", namespaced: true, short: &["svc"], categories: ALL, verbs: FULL,
        subs: &[sub("proxy", "ServiceProxyOptions", PROXY), STATUS] },
    // apps/v1
    Spec { gv: APPS, resource: "daemonsets", singular: "daemonset", kind: "DaemonSet", namespaced: true, short: &["ds"], categories: ALL, verbs: FULL, subs: &[STATUS] },
    Spec { gv: APPS, resource: "deployments", singular: "deployment", kind: "Deployment", namespaced: true, short: &["deploy"], categories: ALL, verbs: FULL, subs: &[SCALE, STATUS] },
    Spec { gv: APPS, resource: "replicasets", singular: "replicaset", kind: "ReplicaSet", namespaced: true, short: &["rs"], categories: ALL, verbs: FULL, subs: &[SCALE, STATUS] },
    Spec { gv: APPS, resource: "statefulsets", singular: "statefulset", kind: "StatefulSet", namespaced: true, short: &["sts"], categories: ALL, verbs: FULL, subs: &[SCALE, STATUS] },
    // events.k8s.io/v1
    Spec { gv: ("events.k8s.io", "v1"), resource: "events", singular: "event", kind: "Event", namespaced: true, short: &["ev"], categories: NONE, verbs: FULL, subs: &[] },
    // authentication.k8s.io/v1
    Spec { gv: AUTHN, resource: "selfsubjectreviews", singular: "selfsubjectreview", kind: "SelfSubjectReview", namespaced: false, short: NONE, categories: NONE, verbs: CREATE, subs: &[] },
    Spec { gv: AUTHN, resource: "tokenreviews", singular: "tokenreview", kind: "TokenReview", namespaced: false, short: NONE, categories: NONE, verbs: CREATE, subs: &[] },
    // authorization.k8s.io/v1
    Spec { gv: AUTHZ, resource: "selfsubjectaccessreviews", singular: "selfsubjectaccessreview", kind: "SelfSubjectAccessReview", namespaced: false, short: NONE, categories: NONE, verbs: CREATE, subs: &[] },
    Spec { gv: AUTHZ, resource: "selfsubjectrulesreviews", singular: "selfsubjectrulesreview", kind: "SelfSubjectRulesReview", namespaced: false, short: NONE, categories: NONE, verbs: CREATE, subs: &[] },
    Spec { gv: AUTHZ, resource: "subjectaccessreviews", singular: "subjectaccessreview", kind: "SubjectAccessReview", namespaced: false, short: NONE, categories: NONE, verbs: CREATE, subs: &[] },
    // autoscaling/v1
    Spec { gv: ("autoscaling", "v1"), resource: "horizontalpodautoscalers", singular: "horizontalpodautoscaler", kind: "HorizontalPodAutoscaler", namespaced: true, short: &["hpa"], categories: ALL, verbs: FULL, subs: &[STATUS] },
    // batch/v1
    Spec { gv: BATCH, resource: "cronjobs", singular: "cronjob", kind: "CronJob", namespaced: true, short: &["cj"], categories: ALL, verbs: FULL, subs: &[STATUS] },
    Spec { gv: BATCH, resource: "jobs", singular: "job", kind: "Job", namespaced: true, short: NONE, categories: ALL, verbs: FULL, subs: &[STATUS] },
    // networking.k8s.io/v1
    Spec { gv: NETWORKING, resource: "ingressclasses", singular: "ingressclass", kind: "IngressClass", namespaced: false, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: NETWORKING, resource: "ingresses", singular: "ingress", kind: "Ingress", namespaced: true, short: &["ing"], categories: NONE, verbs: FULL, subs: &[STATUS] },
    // rbac.authorization.k8s.io/v1
    Spec { gv: RBAC, resource: "clusterrolebindings", singular: "clusterrolebinding", kind: "ClusterRoleBinding", namespaced: false, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: RBAC, resource: "clusterroles", singular: "clusterrole", kind: "ClusterRole", namespaced: false, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: RBAC, resource: "rolebindings", singular: "rolebinding", kind: "RoleBinding", namespaced: true, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    Spec { gv: RBAC, resource: "roles", singular: "role", kind: "Role", namespaced: true, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    // certificates.k8s.io/v1
    Spec { gv: ("certificates.k8s.io", "v1"), resource: "certificatesigningrequests", singular: "certificatesigningrequest", kind: "CertificateSigningRequest", namespaced: false, short: &["csr"], categories: NONE, verbs: FULL,
        subs: &[Sub { name: "approval", kind: None, verbs: GET_PATCH_UPDATE }, STATUS] },
    // coordination.k8s.io/v1
    Spec { gv: ("coordination.k8s.io", "v1"), resource: "leases", singular: "lease", kind: "Lease", namespaced: true, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    // apiextensions.k8s.io/v1
    Spec { gv: ("apiextensions.k8s.io", "v1"), resource: "customresourcedefinitions", singular: "customresourcedefinition", kind: "CustomResourceDefinition", namespaced: false, short: &["crd", "crds"], categories: &["api-extensions"], verbs: FULL, subs: &[STATUS] },
    // discovery.k8s.io/v1
    Spec { gv: ("discovery.k8s.io", "v1"), resource: "endpointslices", singular: "endpointslice", kind: "EndpointSlice", namespaced: true, short: NONE, categories: NONE, verbs: FULL, subs: &[] },
    // metrics.k8s.io/v1beta1 (metrics-server leaves singular names empty)
    Spec { gv: METRICS, resource: "nodes", singular: "", kind: "NodeMetrics", namespaced: false, short: NONE, categories: NONE, verbs: READ, subs: &[] },
    Spec { gv: METRICS, resource: "pods", singular: "", kind: "PodMetrics", namespaced: true, short: NONE, categories: NONE, verbs: READ, subs: &[] },
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The built-in table as owned entries.
pub(super) fn resources() -> Vec<ResourceInfo> {
    SPECS
        .iter()
        .map(|s| {
            let (group, version) = s.gv;
            let mut subresources: Vec<Subresource> = s
                .subs
                .iter()
                .map(|sub| {
                    let (g, v, k) = sub.kind.unwrap_or((group, version, s.kind));
                    Subresource {
                        name: sub.name.to_owned(),
                        response_kind: GroupVersionKind::new(g, v, k),
                        verbs: strings(sub.verbs),
                    }
                })
                .collect();
            subresources.sort_by(|a, b| a.name.cmp(&b.name));
            ResourceInfo {
                group: group.to_owned(),
                version: version.to_owned(),
                resource: s.resource.to_owned(),
                singular: s.singular.to_owned(),
                kind: s.kind.to_owned(),
                list_kind: format!("{}List", s.kind),
                scope: if s.namespaced {
                    Scope::Namespaced
                } else {
                    Scope::Cluster
                },
                short_names: strings(s.short),
                categories: strings(s.categories),
                verbs: strings(s.verbs),
                subresources,
                custom: false,
                selectable_fields: Vec::new(),
            }
        })
        .collect()
}

/// Upstream's group priority (kube-aggregator's APIService priorities): higher comes first in
/// discovery. Core is highest; custom groups get 1000; `metrics.k8s.io` (an aggregated APIService)
/// comes last.
pub(super) fn group_priority(group: &str) -> u32 {
    match group {
        "" => u32::MAX,
        "apiregistration.k8s.io" => 18000,
        "apps" => 17800,
        "events.k8s.io" => 17750,
        "authentication.k8s.io" => 17700,
        "authorization.k8s.io" => 17600,
        "autoscaling" => 17500,
        "batch" => 17400,
        "certificates.k8s.io" => 17300,
        "networking.k8s.io" => 17200,
        "policy" => 17100,
        "rbac.authorization.k8s.io" => 17000,
        "storage.k8s.io" => 16800,
        "admissionregistration.k8s.io" => 16700,
        "scheduling.k8s.io" => 16600,
        "coordination.k8s.io" => 16500,
        "apiextensions.k8s.io" => 16400,
        "node.k8s.io" => 16300,
        "discovery.k8s.io" => 16200,
        "flowcontrol.apiserver.k8s.io" => 16100,
        "metrics.k8s.io" => 100,
        _ => 1000,
    }
}
