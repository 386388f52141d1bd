//! Workload defaults: `pkg/apis/apps/v1/defaults.go`, `pkg/apis/batch/v1/defaults.go` and the
//! ReplicationController defaults of `pkg/apis/core/v1/defaults.go`.

use serde_json::{json, Map, Value};

use super::pod::default_pod_template;
use super::{object_at, set_default};

fn spec_of(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let Value::Object(map) = object else {
        return None;
    };
    Some(object_at(map, "spec"))
}

fn default_template(spec: &mut Map<String, Value>) {
    if let Some(template) = spec.get_mut("template") {
        default_pod_template(template);
    }
}

/// Deployment: `replicas: 1`, `strategy` RollingUpdate with 25% surge and unavailability,
/// `revisionHistoryLimit: 10`, `progressDeadlineSeconds: 600`, and pod template defaults.
pub fn default_deployment(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    set_default(spec, "replicas", json!(1));
    let strategy = object_at(spec, "strategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = object_at(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!("25%"));
        set_default(rolling, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec);
}

/// ReplicaSet: `replicas: 1` and pod template defaults.
pub fn default_replica_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    set_default(spec, "replicas", json!(1));
    default_template(spec);
}

/// ReplicationController: `replicas: 1`, selector from the template labels, pod template defaults.
pub(crate) fn default_replication_controller(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    set_default(spec, "replicas", json!(1));
    if let Some(labels) = spec
        .get("template")
        .and_then(|t| t.pointer("/metadata/labels"))
        .cloned()
    {
        set_default(spec, "selector", labels);
    }
    default_template(spec);
}

/// DaemonSet: RollingUpdate with `maxUnavailable: 1`, `maxSurge: 0`, `revisionHistoryLimit: 10`, and pod
/// template defaults.
pub fn default_daemon_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    let strategy = object_at(spec, "updateStrategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = object_at(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!(1));
        set_default(rolling, "maxSurge", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
}

/// StatefulSet: `replicas: 1`, `podManagementPolicy: OrderedReady`, RollingUpdate with `partition: 0`,
/// `revisionHistoryLimit: 10`, Retain/Retain PVC retention, and pod template defaults.
pub fn default_stateful_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = object_at(spec, "updateStrategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        set_default(object_at(strategy, "rollingUpdate"), "partition", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    let retention = object_at(spec, "persistentVolumeClaimRetentionPolicy");
    set_default(retention, "whenDeleted", json!("Retain"));
    set_default(retention, "whenScaled", json!("Retain"));
    if let Some(Value::Array(claims)) = spec.get_mut("volumeClaimTemplates") {
        for claim in claims.iter_mut() {
            if let Value::Object(claim) = claim {
                set_default(object_at(claim, "spec"), "volumeMode", json!("Filesystem"));
            }
        }
    }
    default_template(spec);
}

/// Job: `completions`/`parallelism` 1 when both are unset, `backoffLimit: 6` (or the per-index limit),
/// `completionMode: NonIndexed`, `suspend: false`, `manualSelector` untouched,
/// `podReplacementPolicy: TerminatingOrFailed` (without a pod failure policy), and pod template defaults.
pub fn default_job(object: &mut Value) {
    if let Some(spec) = spec_of(object) {
        default_job_spec(spec);
    }
}

fn default_job_spec(spec: &mut Map<String, Value>) {
    let completions_unset = spec.get("completions").is_none_or(Value::is_null);
    let parallelism_unset = spec.get("parallelism").is_none_or(Value::is_null);
    if completions_unset && parallelism_unset {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null());
    set_default(
        spec,
        "backoffLimit",
        json!(if per_index { i32::MAX } else { 6 }),
    );
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let has_failure_policy = spec.get("podFailurePolicy").is_some_and(|v| !v.is_null());
    let replacement = if has_failure_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    default_template(spec);
}

/// CronJob: `concurrencyPolicy: Allow`, `suspend: false`, history limits 3 (successful) and 1 (failed),
/// and the pod defaults of the job template.
pub fn default_cron_job(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(Value::Object(job_template)) = spec.get_mut("jobTemplate") {
        // Upstream defaults only the pod template here: SetDefaults_Job applies to Jobs, not job templates.
        if let Some(Value::Object(job_spec)) = job_template.get_mut("spec") {
            default_template(job_spec);
        }
    }
}
