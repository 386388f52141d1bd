//! OpenAPI v3 component schemas of the built-in kinds, generated from k8s-openapi's types (with
//! their field descriptions), so `kubectl explain` can walk every field.

use k8s_openapi::api::{
    apps, authentication, authorization, autoscaling, batch, certificates, coordination, core,
    discovery, events, networking, rbac,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// The schema name (`io.k8s.api.apps.v1.Deployment`) of a kind, after adding its schema and
/// everything it refers to to `generator`; `None` for kinds k8s-openapi does not have.
fn add(generator: &mut SchemaGenerator, group: &str, version: &str, kind: &str) -> Option<String> {
    fn of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Option<String> {
        generator.subschema_for::<T>();
        Some(T::schema_name().into_owned())
    }
    macro_rules! kinds {
        ($($group:literal $version:literal $kind:literal => $ty:ty),* $(,)?) => {
            match (group, version, kind) {
                $(($group, $version, $kind) => of::<$ty>(generator),)*
                _ => None,
            }
        };
    }
    kinds! {
        "" "v1" "ConfigMap" => core::v1::ConfigMap,
        "" "v1" "Endpoints" => core::v1::Endpoints,
        "" "v1" "Event" => core::v1::Event,
        "" "v1" "LimitRange" => core::v1::LimitRange,
        "" "v1" "Namespace" => core::v1::Namespace,
        "" "v1" "Node" => core::v1::Node,
        "" "v1" "PersistentVolumeClaim" => core::v1::PersistentVolumeClaim,
        "" "v1" "Pod" => core::v1::Pod,
        "" "v1" "ResourceQuota" => core::v1::ResourceQuota,
        "" "v1" "Secret" => core::v1::Secret,
        "" "v1" "ServiceAccount" => core::v1::ServiceAccount,
        "" "v1" "Service" => core::v1::Service,
        "apps" "v1" "DaemonSet" => apps::v1::DaemonSet,
        "apps" "v1" "Deployment" => apps::v1::Deployment,
        "apps" "v1" "ReplicaSet" => apps::v1::ReplicaSet,
        "apps" "v1" "StatefulSet" => apps::v1::StatefulSet,
        "events.k8s.io" "v1" "Event" => events::v1::Event,
        "authentication.k8s.io" "v1" "SelfSubjectReview" => authentication::v1::SelfSubjectReview,
        "authentication.k8s.io" "v1" "TokenReview" => authentication::v1::TokenReview,
        "authorization.k8s.io" "v1" "SelfSubjectAccessReview" => authorization::v1::SelfSubjectAccessReview,
        "authorization.k8s.io" "v1" "SelfSubjectRulesReview" => authorization::v1::SelfSubjectRulesReview,
        "authorization.k8s.io" "v1" "SubjectAccessReview" => authorization::v1::SubjectAccessReview,
        "autoscaling" "v1" "HorizontalPodAutoscaler" => autoscaling::v1::HorizontalPodAutoscaler,
        "batch" "v1" "CronJob" => batch::v1::CronJob,
        "batch" "v1" "Job" => batch::v1::Job,
        "networking.k8s.io" "v1" "IngressClass" => networking::v1::IngressClass,
        "networking.k8s.io" "v1" "Ingress" => networking::v1::Ingress,
        "rbac.authorization.k8s.io" "v1" "ClusterRoleBinding" => rbac::v1::ClusterRoleBinding,
        "rbac.authorization.k8s.io" "v1" "ClusterRole" => rbac::v1::ClusterRole,
        "rbac.authorization.k8s.io" "v1" "RoleBinding" => rbac::v1::RoleBinding,
        "rbac.authorization.k8s.io" "v1" "Role" => rbac::v1::Role,
        "certificates.k8s.io" "v1" "CertificateSigningRequest" => certificates::v1::CertificateSigningRequest,
        "coordination.k8s.io" "v1" "Lease" => coordination::v1::Lease,
        "apiextensions.k8s.io" "v1" "CustomResourceDefinition" => apiextensions::v1::CustomResourceDefinition,
        "discovery.k8s.io" "v1" "EndpointSlice" => discovery::v1::EndpointSlice,
    }
}

/// The component schemas for `kinds` (group, version, kind) and the schema name of each kind
/// (`None` where a generic object schema must do). Each kind's schema carries its
/// `x-kubernetes-group-version-kind`, which kubectl looks kinds up by.
pub fn component_schemas(
    kinds: &[(String, String, String)],
) -> (Map<String, Value>, Vec<Option<String>>) {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let names: Vec<Option<String>> = kinds
        .iter()
        .map(|(g, v, k)| add(&mut generator, g, v, k))
        .collect();
    let mut schemas = generator.take_definitions(true);
    for ((group, version, kind), name) in kinds.iter().zip(&names) {
        if let Some(schema) = name.as_ref().and_then(|n| schemas.get_mut(n)) {
            schema["x-kubernetes-group-version-kind"] =
                json!([{"group": group, "version": version, "kind": kind}]);
        }
    }
    (schemas, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_schema_names_its_fields_and_gvk() {
        let kinds = vec![("apps".to_owned(), "v1".to_owned(), "Deployment".to_owned())];
        let (schemas, names) = component_schemas(&kinds);
        let name = names[0].clone().unwrap();
        let deployment = &schemas[&name];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert!(deployment["properties"]["spec"].is_object(), "{deployment}");
        let spec_ref = deployment["properties"]["spec"].to_string();
        assert!(spec_ref.contains("#/components/schemas/"), "{spec_ref}");
        assert!(
            schemas.keys().any(|k| k.ends_with("DeploymentSpec")),
            "{:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
}
