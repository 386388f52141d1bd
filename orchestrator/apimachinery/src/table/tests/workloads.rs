//! Workload printers: Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs, CronJobs, HPAs.

use serde_json::{json, Value};

use super::{cells, headers};

fn workload(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T11:57:40Z"}, "spec": spec, "status": status})
}

fn template() -> Value {
    json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}})
}

#[test]
fn deployment_cells() {
    let c = cells(
        "apps",
        "deployments",
        workload(
            json!({"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()}),
            json!({"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}),
        ),
    );
    assert_eq!(
        c,
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("2m20s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web")
        ]
    );
    assert_eq!(headers("apps", "deployments")[2].0, "Up-to-date");
}

#[test]
fn replicaset_daemonset_statefulset_cells() {
    let selector = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "api"]}]});
    let rs = cells(
        "apps",
        "replicasets",
        workload(
            json!({"replicas": 3, "selector": selector, "template": template()}),
            json!({"replicas": 3, "readyReplicas": 1}),
        ),
    );
    assert_eq!(rs[..4], [json!("web"), json!(3), json!(3), json!(1)]);
    assert_eq!(rs[7], "app=web,tier in (api,fe)");
    let ds = cells(
        "apps",
        "daemonsets",
        workload(
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": []}}}),
            json!({"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}),
        ),
    );
    assert_eq!(
        ds[..7],
        [
            json!("web"),
            json!(2),
            json!(2),
            json!(1),
            json!(2),
            json!(1),
            json!("kubernetes.io/os=linux")
        ]
    );
    let sts = cells(
        "apps",
        "statefulsets",
        workload(
            json!({"replicas": 2, "template": template()}),
            json!({"readyReplicas": 2}),
        ),
    );
    assert_eq!(sts[..3], [json!("web"), json!("2/2"), json!("2m20s")]);
    assert_eq!(headers("apps", "statefulsets").len(), 5);
}

#[test]
fn job_status_completions_and_duration() {
    let done = cells(
        "batch",
        "jobs",
        workload(
            json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}, "template": template()}),
            json!({"succeeded": 1, "startTime": "2024-05-01T11:58:00Z", "completionTime": "2024-05-01T11:58:25Z",
               "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        ),
    );
    assert_eq!(
        done[..5],
        [
            json!("web"),
            json!("Complete"),
            json!("1/1"),
            json!("25s"),
            json!("2m20s")
        ]
    );
    assert_eq!(done[7], "batch.kubernetes.io/controller-uid=u1");
    let running = cells(
        "batch",
        "jobs",
        workload(
            json!({"parallelism": 3, "template": template()}),
            json!({"succeeded": 0, "startTime": "2024-05-01T11:59:00Z"}),
        ),
    );
    assert_eq!(
        running[1..4],
        [json!("Running"), json!("0/1 of 3"), json!("60s")]
    );
    let pending = cells(
        "batch",
        "jobs",
        workload(json!({"completions": 2, "template": template()}), json!({})),
    );
    assert_eq!(pending[2..4], [json!("0/2"), json!("")]);
}

#[test]
fn cronjob_cells() {
    let c = cells(
        "batch",
        "cronjobs",
        workload(
            json!({"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {"template": template()}}}),
            json!({"active": [{"name": "web-1"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}),
        ),
    );
    assert_eq!(
        c[..7],
        [
            json!("web"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("5m"),
            json!("2m20s")
        ]
    );
    assert_eq!(c[9], "<none>");
    let never = cells(
        "batch",
        "cronjobs",
        workload(
            json!({"schedule": "@daily", "timeZone": "Etc/UTC"}),
            json!({}),
        ),
    );
    assert_eq!(
        never[2..6],
        [
            json!("Etc/UTC"),
            json!("<unset>"),
            json!(0),
            json!("<none>")
        ]
    );
}

#[test]
fn hpa_cells() {
    let c = cells(
        "autoscaling",
        "horizontalpodautoscalers",
        workload(
            json!({"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}),
            json!({"currentReplicas": 2}),
        ),
    );
    assert_eq!(
        c,
        [
            json!("web"),
            json!("Deployment/web"),
            json!("cpu: <unknown>/50%"),
            json!("1"),
            json!(5),
            json!(2),
            json!("2m20s")
        ]
    );
}

#[test]
fn job_status_uses_the_first_condition_of_each_type() {
    let job = workload(
        json!({"completions": 1}),
        json!({"conditions": [
        {"type": "Failed", "status": "False"}, {"type": "Failed", "status": "True"}, {"type": "Suspended", "status": "True"}]}),
    );
    assert_eq!(cells("batch", "jobs", job)[1], "Suspended");
}

#[test]
fn deployment_without_selector_prints_empty_selector() {
    let c = cells(
        "apps",
        "deployments",
        workload(json!({"replicas": 1}), json!({})),
    );
    assert_eq!(c[1..4], [json!("0/1"), json!(0), json!(0)]);
    assert_eq!(c[7], "");
}
