//! Defaults compared with what a real cluster returns for the same requests.

use serde_json::{json, Value};

use super::*;

/// All three stages a create goes through: decoding defaults, admission, the registry's strategy.
fn defaulted(mut object: Value) -> Value {
    apply_defaults(&mut object);
    admit(&mut object);
    prepare_for_create(&mut object);
    object
}

#[test]
fn decoding_defaults_leave_admission_fields_to_admission() {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "a"}]}});
    apply_defaults(&mut pod);
    assert_eq!(pod["spec"]["enableServiceLinks"], true);
    assert!(pod["spec"].get("serviceAccountName").is_none());
    assert!(pod["spec"].get("tolerations").is_none());
    assert!(pod.get("status").is_none());
    admit(&mut pod);
    assert_eq!(pod["spec"]["serviceAccountName"], "default");
    prepare_for_create(&mut pod);
    assert_eq!(pod["status"]["phase"], "Pending");
}

#[test]
fn kubectl_run_pod_gets_upstream_defaults() {
    // The body of `kubectl run nginx-pod --image=nginx --restart=Never` (wire §5).
    let body = json!({"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx-pod","creationTimestamp":null,"labels":{"run":"nginx-pod"}},
        "spec":{"containers":[{"name":"nginx-pod","image":"nginx","resources":{}}],"restartPolicy":"Never","dnsPolicy":"ClusterFirst"},"status":{}});
    let pod = defaulted(body);
    // The spec and status of `kubectl get pod nginx-pod -o yaml` on a kind cluster, minus what the
    // scheduler and the service-account token volume add.
    assert_eq!(
        pod["spec"],
        json!({
            "containers": [{"name": "nginx-pod", "image": "nginx", "resources": {}, "imagePullPolicy": "Always",
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
            "restartPolicy": "Never",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
            "securityContext": {},
            "enableServiceLinks": true,
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]
        })
    );
    assert_eq!(
        pod["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );
}

#[test]
fn defaulting_twice_changes_nothing() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}});
    for object in [
        deployment,
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "a"}]}}),
    ] {
        let once = defaulted(object);
        assert_eq!(defaulted(once.clone()), once);
    }
}

#[test]
fn image_pull_policy_depends_on_the_tag() {
    let pod = defaulted(
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
            {"name": "a", "image": "nginx:latest"}, {"name": "b", "image": "nginx:1.27"},
            {"name": "c", "image": "localhost:5000/app"}, {"name": "d", "image": "nginx@sha256:abcd"},
            {"name": "e", "image": "nginx", "imagePullPolicy": "Never"}
        ]}}),
    );
    let policies: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["imagePullPolicy"].as_str().unwrap())
        .collect();
    assert_eq!(
        policies,
        ["Always", "IfNotPresent", "Always", "IfNotPresent", "Never"]
    );
}

#[test]
fn deployment_gets_strategy_limits_and_template_defaults() {
    let deployment = defaulted(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}),
    );
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let template = &spec["template"]["spec"];
    assert_eq!(template["restartPolicy"], "Always");
    assert_eq!(template["containers"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(template["containers"][0]["imagePullPolicy"], "IfNotPresent");
    // Pod-level and admission defaults do not apply to templates.
    assert!(template.get("enableServiceLinks").is_none());
    assert!(template.get("tolerations").is_none());
}

#[test]
fn node_port_service_from_kubectl_expose_gets_defaults() {
    let service = defaulted(
        json!({"kind":"Service","apiVersion":"v1","metadata":{"name":"nginx-pod","labels":{"run":"nginx-pod"}},
        "spec":{"ports":[{"protocol":"TCP","port":80,"targetPort":80}],"selector":{"run":"nginx-pod"},"type":"NodePort"},"status":{"loadBalancer":{}}}),
    );
    let spec = &service["spec"];
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
}

#[test]
fn service_target_port_defaults_to_port() {
    let service = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 8080}]}}),
    );
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(
        service["spec"]["ports"][0],
        json!({"port": 8080, "protocol": "TCP", "targetPort": 8080})
    );
    assert!(service["spec"].get("externalTrafficPolicy").is_none());
}

#[test]
fn job_and_cron_job_defaults() {
    let job = defaulted(
        json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "busybox"}]}}}}),
    );
    for (key, value) in [
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
    ] {
        assert_eq!(job["spec"][key], value, "{key}");
    }
    let parallel =
        defaulted(json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 3}}));
    assert!(parallel["spec"].get("completions").is_none());
    let cron = defaulted(
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "busybox"}]}}}}}}),
    );
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cron["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cron["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
}

#[test]
fn namespace_gets_finalizer_phase_and_name_label() {
    let namespace =
        defaulted(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}));
    assert_eq!(namespace["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(namespace["status"]["phase"], "Active");
    assert_eq!(
        namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );
}

#[test]
fn secret_type_defaults_to_opaque_and_other_kinds_are_untouched() {
    assert_eq!(
        defaulted(json!({"apiVersion": "v1", "kind": "Secret"}))["type"],
        "Opaque"
    );
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}});
    assert_eq!(defaulted(widget.clone()), widget);
}

#[test]
fn pod_with_equal_requests_and_limits_is_guaranteed() {
    let pod = defaulted(
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
        {"name": "a", "image": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
    );
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(pod["status"]["qosClass"], "Guaranteed");
}

#[test]
fn existing_tolerations_for_not_ready_are_kept() {
    let pod = defaulted(
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "a"}],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]}}),
    );
    let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
    assert_eq!(tolerations.len(), 2);
    assert_eq!(tolerations[0]["tolerationSeconds"], 5);
}

#[test]
fn secret_string_data_is_folded_into_base64_data() {
    let secret = defaulted(
        json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "eA=="}, "stringData": {"b": "hello"}}),
    );
    assert_eq!(secret["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
    assert!(secret.get("stringData").is_none());
}
