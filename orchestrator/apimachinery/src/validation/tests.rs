//! Validation outcomes as a user of kubectl sees them: the Status causes and message.

use serde_json::{json, Value};

use super::*;
use crate::defaulting::{admit, apply_defaults, prepare_for_create};

/// An object as the server validates it on create: defaulted, admitted and prepared.
fn defaulted(mut object: Value) -> Value {
    apply_defaults(&mut object);
    admit(&mut object);
    prepare_for_create(&mut object);
    object
}

fn rendered(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn pod(spec: Value) -> Value {
    defaulted(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec}),
    )
}

fn deployment() -> Value {
    defaulted(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}),
    )
}

#[test]
fn kubectl_run_pod_is_valid_after_defaulting() {
    let body = json!({"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx-pod","creationTimestamp":null,"labels":{"run":"nginx-pod"}},
        "spec":{"containers":[{"name":"nginx-pod","image":"nginx","resources":{}}],"restartPolicy":"Never","dnsPolicy":"ClusterFirst"},"status":{}});
    assert_eq!(
        rendered(&validate_create(&defaulted(body))),
        Vec::<String>::new()
    );
    assert!(validate_create(&deployment()).is_empty());
}

#[test]
fn uppercase_name_is_invalid_with_upstream_words() {
    let mut object = pod(json!({"containers": [{"name": "a", "image": "a"}]}));
    object["metadata"]["name"] = json!("Bad_Name");
    let errors = validate_create(&object);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].reason.cause_type(), "FieldValueInvalid");
    assert_eq!(errors[0].field, "metadata.name");
    assert_eq!(
        errors[0].message(),
        "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
}

#[test]
fn missing_name_and_generate_name_is_required() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    assert_eq!(
        rendered(&validate_create(&object)),
        ["metadata.name: Required value: name or generateName is required"]
    );
    let generated =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cm-"}});
    assert!(validate_create(&generated).is_empty());
}

#[test]
fn namespace_and_service_names_are_labels() {
    let namespace =
        defaulted(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}));
    let errors = validate_create(&namespace);
    assert!(
        errors[0].detail.starts_with("a lowercase RFC 1123 label"),
        "{}",
        errors[0]
    );
    let service = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}),
    );
    assert!(validate_create(&service)[0]
        .detail
        .starts_with("a DNS-1035 label"));
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "system:a/b"}});
    assert_eq!(
        rendered(&validate_create(&role)),
        ["metadata.name: Invalid value: \"system:a/b\": may not contain '/'"]
    );
}

#[test]
fn labels_and_annotations_are_checked() {
    let mut object = pod(json!({"containers": [{"name": "a", "image": "a"}]}));
    object["metadata"]["labels"] = json!({"bad key": "x", "ok": "-bad"});
    object["metadata"]["annotations"] = json!({"big": "x".repeat(TOTAL_ANNOTATIONS + 1)});
    let errors = rendered(&validate_create(&object));
    assert!(
        errors.iter().any(|e| e
            .starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist of")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with(
            "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string"
        )),
        "{errors:?}"
    );
    assert!(
        errors.contains(
            &"metadata.annotations: Too long: must have at most 262144 bytes".to_string()
        ),
        "{errors:?}"
    );
}

const TOTAL_ANNOTATIONS: usize = 256 * 1024;

#[test]
fn pod_containers_are_required_and_checked() {
    let errors = rendered(&validate_create(&pod(json!({"containers": []}))));
    assert_eq!(errors, ["spec.containers: Required value"]);
    let errors = rendered(&validate_create(&pod(json!({"containers": [
        {"name": "a", "image": ""},
        {"name": "a", "image": "x", "ports": [{"containerPort": 70000}, {"containerPort": 80, "protocol": "HTTP"}]},
        {"image": "y", "volumeMounts": [{"name": "missing", "mountPath": "/data"}]}
    ]}))));
    assert_eq!(
        errors,
        [
            "spec.containers[0].image: Required value",
            "spec.containers[1].name: Duplicate value: \"a\"",
            "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[1].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.containers[2].name: Required value",
            "spec.containers[2].volumeMounts[0].name: Not found: \"missing\"",
        ]
    );
}

#[test]
fn pod_restart_policy_must_be_known() {
    let errors = rendered(&validate_create(&pod(
        json!({"restartPolicy": "Sometimes", "containers": [{"name": "a", "image": "a"}]}),
    )));
    assert_eq!(errors, ["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""]);
}

#[test]
fn deployment_selector_must_match_template_and_replicas_be_non_negative() {
    let mut object = deployment();
    object["spec"]["replicas"] = json!(-1);
    object["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    let errors = validate_create(&object);
    assert_eq!(
        rendered(&errors),
        [
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`",
        ]
    );
    assert_eq!(
        invalid_message("apps", "Deployment", "web", &errors),
        "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, \
spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`]"
    );
}

#[test]
fn deployment_template_must_restart_always() {
    let mut object = deployment();
    object["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        rendered(&validate_create(&object)),
        ["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]
    );
}

#[test]
fn job_template_must_not_restart_always() {
    let job = defaulted(
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a"}]}}}}),
    );
    assert_eq!(
        rendered(&validate_create(&job)),
        ["spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""]
    );
}

#[test]
fn service_ports_type_and_names_are_checked() {
    let service = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "Magic", "ports": [{"port": 80}, {"port": 0, "name": "b", "nodePort": 30000}]}}),
    );
    let errors = rendered(&validate_create(&service));
    assert_eq!(
        errors,
        [
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            "spec.ports[0].name: Required value",
            "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ]
    );
    let cluster_ip = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80, "nodePort": 30000}]}}),
    );
    assert_eq!(
        rendered(&validate_create(&cluster_ip)),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    );
}

#[test]
fn config_map_and_secret_keys_and_payloads_are_checked() {
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"bad/key": "x", "ok": "y"}});
    assert_eq!(
        rendered(&validate_create(&config_map)),
        ["data[bad/key]: Invalid value: \"bad/key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' \
(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]
    );
    let secret = defaulted(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": "not base64!"}}),
    );
    let errors = rendered(&validate_create(&secret));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with(
        "data[tls.crt]: Invalid value: \"<secret contents redacted>\": illegal base64 data"
    ));
    assert_eq!(errors[1], "data[tls.key]: Required value");
}

#[test]
fn metadata_identity_is_immutable() {
    let old = deployment();
    let mut new = old.clone();
    new["metadata"]["name"] = json!("other");
    assert_eq!(
        rendered(&validate_update(&old, &new)),
        ["metadata.name: Invalid value: \"other\": field is immutable"]
    );
}

#[test]
fn pod_update_may_change_image_but_not_other_spec_fields() {
    let old = pod(json!({"containers": [{"name": "a", "image": "nginx:1.25"}]}));
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    new["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "x", "operator": "Exists"}));
    assert!(
        validate_update(&old, &new).is_empty(),
        "{:?}",
        rendered(&validate_update(&old, &new))
    );
    new["spec"]["containers"][0]["command"] = json!(["sh"]);
    let errors = validate_update(&old, &new);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "spec");
    assert!(errors[0].message().starts_with(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    ));
}

#[test]
fn deployment_selector_and_service_cluster_ip_are_immutable() {
    let old = deployment();
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "x"}});
    new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
    assert_eq!(
        rendered(&validate_update(&old, &new)),
        ["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"x\"}}: field is immutable"]
    );
    let old = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80}]}}),
    );
    let mut new = old.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.11");
    new["spec"]["clusterIPs"] = json!(["10.96.0.11"]);
    assert_eq!(
        rendered(&validate_update(&old, &new)),
        ["spec.clusterIPs[0]: Invalid value: [\"10.96.0.11\"]: may not change once set"]
    );
}

#[test]
fn immutable_config_map_data_cannot_change() {
    let old = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": true, "data": {"a": "1"}});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    assert_eq!(
        rendered(&validate_update(&old, &new)),
        ["data: Forbidden: field is immutable when `immutable` is set"]
    );
}

#[test]
fn strict_decoding_reports_unknown_fields_by_path() {
    let mut object = deployment();
    object["spec"]["foo"] = json!(1);
    object["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = json!("Always");
    object["metadata"]["creationTimestamp"] = Value::Null;
    let unknown = unknown_fields(&object).unwrap().unwrap();
    // In document order, as upstream reports them.
    assert_eq!(
        unknown,
        [
            "spec.template.spec.containers[0].imagePullPolcy",
            "spec.foo"
        ]
    );
    assert_eq!(
        strict_decoding_message(&unknown),
        "strict decoding error: unknown field \"spec.template.spec.containers[0].imagePullPolcy\", unknown field \"spec.foo\""
    );
    assert_eq!(
        unknown_fields(&deployment()).unwrap().unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        unknown_fields(
            &json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": 1}})
        )
        .unwrap(),
        None
    );
}

#[test]
fn undecodable_object_is_a_decode_error() {
    let mut object = deployment();
    object["spec"]["replicas"] = json!("three");
    let err = unknown_fields(&object).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Deployment in version \"v1\" cannot be handled as a Deployment: "),
        "{err}"
    );
}
