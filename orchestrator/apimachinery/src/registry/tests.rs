use serde_json::json;

use super::discovery::*;
use super::*;

fn names(list: &[&ResourceInfo]) -> Vec<String> {
    list.iter().map(|r| r.qualified_resource()).collect()
}

#[test]
fn core_short_names_resolve_like_kubectl() {
    let registry = Registry::builtin();
    for (short, plural) in [
        ("po", "pods"),
        ("svc", "services"),
        ("ns", "namespaces"),
        ("no", "nodes"),
        ("cm", "configmaps"),
        ("ev", "events"),
        ("sa", "serviceaccounts"),
        ("ep", "endpoints"),
        ("pvc", "persistentvolumeclaims"),
        ("quota", "resourcequotas"),
        ("limits", "limitranges"),
    ] {
        let r = registry
            .resolve(short)
            .unwrap_or_else(|| panic!("{short} unresolved"));
        assert_eq!(
            (r.group.as_str(), r.resource.as_str()),
            ("", plural),
            "{short}"
        );
    }
}

#[test]
fn group_short_names_resolve() {
    let registry = Registry::builtin();
    for (short, group, plural) in [
        ("deploy", "apps", "deployments"),
        ("rs", "apps", "replicasets"),
        ("ds", "apps", "daemonsets"),
        ("sts", "apps", "statefulsets"),
        ("cj", "batch", "cronjobs"),
        ("ing", "networking.k8s.io", "ingresses"),
        ("hpa", "autoscaling", "horizontalpodautoscalers"),
        ("crd", "apiextensions.k8s.io", "customresourcedefinitions"),
        ("crds", "apiextensions.k8s.io", "customresourcedefinitions"),
    ] {
        let r = registry.resolve(short).unwrap();
        assert_eq!((r.group.as_str(), r.resource.as_str()), (group, plural));
    }
}

#[test]
fn events_resolve_to_core_before_events_k8s_io() {
    let registry = Registry::builtin();
    assert_eq!(registry.resolve("ev").unwrap().group, "");
    assert_eq!(registry.resolve("events").unwrap().group, "");
    assert_eq!(
        registry.resolve("events.events.k8s.io").unwrap().group,
        "events.k8s.io"
    );
}

#[test]
fn singular_kind_and_qualified_names_resolve() {
    let registry = Registry::builtin();
    assert_eq!(registry.resolve("pod").unwrap().resource, "pods");
    assert_eq!(
        registry.resolve("Deployment").unwrap().resource,
        "deployments"
    );
    assert_eq!(
        registry.resolve("deployments.apps").unwrap().resource,
        "deployments"
    );
    assert_eq!(
        registry.resolve("deployments.v1.apps").unwrap().resource,
        "deployments"
    );
    assert!(registry.resolve("deployments.batch").is_none());
    assert!(registry.resolve("widgets").is_none());
}

#[test]
fn kubectl_get_all_covers_upstream_set() {
    let registry = Registry::builtin();
    let all = names(&registry.in_category("all"));
    assert_eq!(
        all,
        [
            "pods",
            "services",
            "daemonsets.apps",
            "deployments.apps",
            "replicasets.apps",
            "statefulsets.apps",
            "horizontalpodautoscalers.autoscaling",
            "cronjobs.batch",
            "jobs.batch"
        ]
    );
}

#[test]
fn core_scopes_and_verbs_match_upstream() {
    let registry = Registry::builtin();
    let ns = registry.get("", "v1", "namespaces").unwrap();
    assert!(!ns.namespaced());
    assert!(!ns.supports("deletecollection"));
    let pods = registry.get("", "v1", "pods").unwrap();
    assert!(pods.namespaced());
    assert_eq!(
        pods.verbs,
        [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]
    );
    assert!(pods.has_status_subresource());
    let subs: Vec<&str> = pods.subresources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        subs,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "status"
        ]
    );
    assert_eq!(
        pods.subresource("eviction").unwrap().response_kind,
        GroupVersionKind::new("policy", "v1", "Eviction")
    );
    let review = registry
        .get("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
        .unwrap();
    assert_eq!(review.verbs, ["create"]);
    let metrics = registry.get("metrics.k8s.io", "v1beta1", "pods").unwrap();
    assert_eq!(
        (metrics.kind.as_str(), metrics.verbs.as_slice()),
        ("PodMetrics", &["get".to_owned(), "list".to_owned()][..])
    );
}

#[test]
fn scale_subresources_return_autoscaling_v1_scale() {
    let registry = Registry::builtin();
    for plural in ["deployments", "replicasets", "statefulsets"] {
        let r = registry.get("apps", "v1", plural).unwrap();
        let scale = r.subresource("scale").unwrap();
        assert_eq!(scale.response_kind.api_version(), "autoscaling/v1");
        assert_eq!(scale.response_kind.kind, "Scale");
        assert_eq!(scale.verbs, ["get", "patch", "update"]);
    }
    assert!(registry
        .get("apps", "v1", "daemonsets")
        .unwrap()
        .subresource("scale")
        .is_none());
}

#[test]
fn lookups_by_kind_and_api_version() {
    let registry = Registry::builtin();
    assert_eq!(
        registry.by_kind("apps", "Deployment").unwrap().resource,
        "deployments"
    );
    assert_eq!(
        registry
            .for_api_version("v1", "ConfigMap")
            .unwrap()
            .resource,
        "configmaps"
    );
    assert_eq!(
        registry
            .for_api_version("batch/v1", "CronJob")
            .unwrap()
            .list_kind,
        "CronJobList"
    );
    assert!(registry.for_api_version("v1", "Deployment").is_none());
}

fn widget_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"], "categories": ["all"]},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false},
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}},
                {"name": "v1alpha1", "served": false, "storage": false}
            ]
        }
    })
}

#[test]
fn crd_registration_adds_served_versions_preferring_ga() {
    let mut registry = Registry::builtin();
    let added = registry.register_crd(&widget_crd()).unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(
        registry.preferred_version("example.com").as_deref(),
        Some("v1")
    );
    let v1 = registry.get("example.com", "v1", "widgets").unwrap();
    assert!(v1.has_status_subresource());
    assert_eq!(v1.subresource("scale").unwrap().response_kind.kind, "Scale");
    assert_eq!(v1.list_kind, "WidgetList");
    assert!(!registry
        .get("example.com", "v1beta1", "widgets")
        .unwrap()
        .has_status_subresource());
    assert!(registry.get("example.com", "v1alpha1", "widgets").is_none());
    assert_eq!(registry.resolve("wg").unwrap().version, "v1");
    assert!(names(&registry.in_category("all")).contains(&"widgets.example.com".to_owned()));
}

#[test]
fn crd_reregistration_replaces_and_unregister_removes() {
    let mut registry = Registry::builtin();
    registry.register_crd(&widget_crd()).unwrap();
    let mut changed = widget_crd();
    changed["spec"]["versions"] = json!([{"name": "v2", "served": true, "storage": true}]);
    registry.register_crd(&changed).unwrap();
    assert!(registry.get("example.com", "v1", "widgets").is_none());
    assert!(registry.get("example.com", "v2", "widgets").is_some());
    assert!(registry.unregister_custom("example.com", "widgets"));
    assert!(registry.resolve("widgets").is_none());
    assert!(!registry.unregister_custom("example.com", "widgets"));
}

#[test]
fn crd_errors_name_the_definition_and_field() {
    let mut registry = Registry::builtin();
    let mut no_group = widget_crd();
    no_group["spec"]["group"] = json!("");
    assert_eq!(
        registry.register_crd(&no_group).unwrap_err().to_string(),
        r#"invalid custom resource definition "widgets.example.com": spec.group is required"#
    );
    let mut bad_scope = widget_crd();
    bad_scope["spec"]["scope"] = json!("Global");
    assert!(registry
        .register_crd(&bad_scope)
        .unwrap_err()
        .to_string()
        .contains("spec.scope"));
    let mut shadow = widget_crd();
    shadow["spec"]["group"] = json!("apps");
    shadow["spec"]["names"]["plural"] = json!("deployments");
    assert!(matches!(
        registry.register_crd(&shadow),
        Err(Error::ConflictsWithBuiltin { .. })
    ));
}

#[test]
fn version_priority_follows_kube_ordering() {
    let mut sorted = vec![
        "v1alpha1", "v1", "v2beta1", "v1beta2", "foo", "v2", "v1beta1", "v10",
    ];
    sorted.sort_by(|a, b| custom::compare_versions(b, a));
    assert_eq!(
        sorted,
        ["v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
    );
}

#[test]
fn accept_header_selects_aggregated_discovery() {
    let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    assert!(accepts_aggregated(kubectl));
    assert!(accepts_aggregated(
        "application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io"
    ));
    assert!(!accepts_aggregated("application/json, */*"));
    assert_eq!(
        AGGREGATED_CONTENT_TYPE,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
}

#[test]
fn aggregated_core_has_upstream_shape() {
    let doc = aggregated_core(&Registry::builtin());
    assert_eq!(doc["kind"], "APIGroupDiscoveryList");
    assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0]["metadata"].get("name").is_none());
    let version = &items[0]["versions"][0];
    assert_eq!(version["version"], "v1");
    assert_eq!(version["freshness"], "Current");
    let pods = version["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert_eq!(
        pods["responseKind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(pods["scope"], "Namespaced");
    assert_eq!(pods["singularResource"], "pod");
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    let exec = pods["subresources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subresource"] == "exec")
        .unwrap();
    assert_eq!(
        exec,
        &json!({"subresource": "exec", "responseKind": {"group": "", "version": "v1", "kind": "PodExecOptions"}, "verbs": ["create", "get"]})
    );
}

#[test]
fn aggregated_groups_lists_every_resource_with_response_kind() {
    let mut registry = Registry::builtin();
    registry.register_crd(&widget_crd()).unwrap();
    let doc = aggregated_groups(&registry);
    let groups: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups.first(), Some(&"apps"));
    assert_eq!(groups.last(), Some(&"metrics.k8s.io"));
    let widgets = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "example.com")
        .unwrap();
    let versions: Vec<&str> = widgets["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    for group in doc["items"].as_array().unwrap() {
        for version in group["versions"].as_array().unwrap() {
            for resource in version["resources"].as_array().unwrap() {
                assert!(
                    resource["responseKind"]["kind"]
                        .as_str()
                        .is_some_and(|k| !k.is_empty()),
                    "{resource}"
                );
                for sub in resource["subresources"].as_array().into_iter().flatten() {
                    assert!(
                        sub["responseKind"]["kind"]
                            .as_str()
                            .is_some_and(|k| !k.is_empty()),
                        "{sub}"
                    );
                }
            }
        }
    }
    let apps = &doc["items"][0]["versions"][0]["resources"];
    let deploy = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "deployments")
        .unwrap();
    let keys: Vec<&str> = deploy
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "resource",
            "responseKind",
            "scope",
            "singularResource",
            "verbs",
            "shortNames",
            "categories",
            "subresources"
        ]
    );
}

#[test]
fn legacy_documents_parse_as_k8s_openapi_types() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
    let registry = Registry::builtin();
    let versions: metav1::APIVersions =
        serde_json::from_value(api_versions("10.0.0.1:6443")).unwrap();
    assert_eq!(versions.versions, ["v1"]);
    let groups: metav1::APIGroupList = serde_json::from_value(api_group_list(&registry)).unwrap();
    let apps = groups.groups.iter().find(|g| g.name == "apps").unwrap();
    assert_eq!(
        apps.preferred_version.as_ref().unwrap().group_version,
        "apps/v1"
    );
    let core: metav1::APIResourceList =
        serde_json::from_value(api_resource_list(&registry, "", "v1").unwrap()).unwrap();
    let names: Vec<&str> = core.resources.iter().map(|r| r.name.as_str()).collect();
    assert!(names.windows(2).any(|w| w == ["pods", "pods/attach"]));
    let token = core
        .resources
        .iter()
        .find(|r| r.name == "serviceaccounts/token")
        .unwrap();
    assert_eq!(
        (token.group.as_deref(), token.kind.as_str()),
        (Some("authentication.k8s.io"), "TokenRequest")
    );
    let apps_list = api_resource_list(&registry, "apps", "v1").unwrap();
    assert_eq!(apps_list["apiVersion"], "v1");
    let scale = apps_list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .unwrap();
    assert_eq!(
        (
            scale["group"].as_str(),
            scale["version"].as_str(),
            scale["kind"].as_str()
        ),
        (Some("autoscaling"), Some("v1"), Some("Scale"))
    );
    assert!(api_resource_list(&registry, "apps", "v2").is_none());
    let group: metav1::APIGroup =
        serde_json::from_value(api_group(&registry, "batch").unwrap()).unwrap();
    assert_eq!(group.versions[0].group_version, "batch/v1");
}

#[test]
fn core_resource_list_omits_api_version_like_upstream() {
    let list = api_resource_list(&Registry::builtin(), "", "v1").unwrap();
    assert!(list.get("apiVersion").is_none());
    let pods = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(
        pods,
        &json!({"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["po"], "categories": ["all"]})
    );
}

/// The apidiscovery.k8s.io/v2 shape (k8s.io/api/apidiscovery/v2, as mirrored by kube-core's
/// `discovery::v2`), strict about unknown keys so a misspelt field fails.
mod v2 {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct List {
        pub kind: String,
        pub api_version: String,
        pub metadata: serde_json::Value,
        pub items: Vec<Group>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Group {
        pub metadata: ObjectMeta,
        pub versions: Vec<Version>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Version {
        pub version: String,
        pub resources: Vec<Resource>,
        pub freshness: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Resource {
        pub resource: String,
        pub response_kind: Gvk,
        pub scope: String,
        pub singular_resource: String,
        pub verbs: Vec<String>,
        #[serde(default)]
        pub short_names: Vec<String>,
        #[serde(default)]
        pub categories: Vec<String>,
        #[serde(default)]
        pub subresources: Vec<Subresource>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Subresource {
        pub subresource: String,
        pub response_kind: Gvk,
        pub verbs: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Gvk {
        pub group: String,
        pub version: String,
        pub kind: String,
    }
}

#[test]
fn aggregated_documents_deserialise_as_apidiscovery_v2() {
    let registry = Registry::builtin();
    let core: v2::List = serde_json::from_value(aggregated_core(&registry)).unwrap();
    assert_eq!(
        (core.kind.as_str(), core.api_version.as_str()),
        ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    );
    assert!(core.metadata.is_object());
    assert_eq!(core.items[0].metadata.name, None);
    let pods = core.items[0].versions[0]
        .resources
        .iter()
        .find(|r| r.resource == "pods")
        .unwrap();
    assert_eq!(
        (pods.scope.as_str(), pods.singular_resource.as_str()),
        ("Namespaced", "pod")
    );
    assert_eq!(pods.short_names, ["po"]);
    let log = pods
        .subresources
        .iter()
        .find(|s| s.subresource == "log")
        .unwrap();
    assert_eq!(
        (log.response_kind.kind.as_str(), log.verbs.as_slice()),
        ("Pod", &["get".to_owned()][..])
    );

    let groups: v2::List = serde_json::from_value(aggregated_groups(&registry)).unwrap();
    let apps = &groups.items[0];
    assert_eq!(apps.metadata.name.as_deref(), Some("apps"));
    let deploy = apps.versions[0]
        .resources
        .iter()
        .find(|r| r.resource == "deployments")
        .unwrap();
    let scale = deploy
        .subresources
        .iter()
        .find(|s| s.subresource == "scale")
        .unwrap();
    assert_eq!(
        (
            scale.response_kind.group.as_str(),
            scale.response_kind.version.as_str(),
            scale.response_kind.kind.as_str()
        ),
        ("autoscaling", "v1", "Scale")
    );
    let metrics = groups
        .items
        .iter()
        .find(|g| g.metadata.name.as_deref() == Some("metrics.k8s.io"))
        .unwrap();
    assert_eq!(metrics.versions[0].version, "v1beta1");
    assert!(metrics.versions[0]
        .resources
        .iter()
        .all(|r| r.singular_resource.is_empty() && r.verbs == ["get", "list"]));
    assert_eq!(deploy.response_kind.kind, "Deployment");
    assert_eq!(deploy.categories, ["all"]);
    assert!(groups
        .items
        .iter()
        .flat_map(|g| &g.versions)
        .all(|v| v.freshness == "Current"));
    let all: usize = groups
        .items
        .iter()
        .map(|g| g.versions.iter().map(|v| v.resources.len()).sum::<usize>())
        .sum();
    assert_eq!(
        all + core.items[0].versions[0].resources.len(),
        registry.resources().len()
    );
}
