//! Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs, CronJobs and HPAs.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{age, col, name, wide, Col, Row, AGE, NAME};
use crate::selectors::LabelSelector;
use crate::table::age::{human_duration, parse_time};
use crate::table::value::{format_labels, int, list, opt_text, text};

const CONTAINERS: Col = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Col = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);
const SELECTOR: Col = wide(
    "Selector",
    "string",
    "A label query over pods that should match the replica count.",
);

/// Container names and images, each comma-joined (upstream `layoutContainerCells`).
fn containers_and_images(object: &Value, pointer: &str) -> (Value, Value) {
    let containers = list(object, pointer);
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "/image")).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// The canonical selector text (`app=web,tier in (a,b)`; upstream `Selector.String()`), empty
/// when absent or empty, `<invalid>` when malformed.
fn selector_string(object: &Value, pointer: &str) -> String {
    match object.pointer(pointer).filter(|s| !s.is_null()) {
        None => String::new(),
        Some(s) => LabelSelector::from_label_selector_value(s)
            .map_or_else(|_| "<invalid>".to_owned(), |s| s.to_string()),
    }
}

/// Upstream `metav1.FormatLabelSelector`: like [`selector_string`] but `<none>` when empty.
fn selector(object: &Value, pointer: &str) -> String {
    match selector_string(object, pointer) {
        s if s.is_empty() => "<none>".to_owned(),
        s if s == "<invalid>" => "<error>".to_owned(),
        s => s,
    }
}

pub(crate) const DEPLOYMENT_COLUMNS: &[Col] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "string", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    col("Available", "string", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) fn deployment_row(d: &Value, now: OffsetDateTime) -> Row {
    let (containers, images) = containers_and_images(d, "/spec/template/spec/containers");
    vec![
        name(d),
        json!(format!(
            "{}/{}",
            int(d, "/status/readyReplicas"),
            int(d, "/spec/replicas")
        )),
        json!(int(d, "/status/updatedReplicas")),
        json!(int(d, "/status/availableReplicas")),
        json!(age(d, now)),
        containers,
        images,
        json!(selector_string(d, "/spec/selector")),
    ]
    .into()
}

pub(crate) const REPLICASET_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Replicas is the number of desired pods.",
    ),
    col(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas.",
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) fn replicaset_row(rs: &Value, now: OffsetDateTime) -> Row {
    let (containers, images) = containers_and_images(rs, "/spec/template/spec/containers");
    vec![
        name(rs),
        json!(int(rs, "/spec/replicas")),
        json!(int(rs, "/status/replicas")),
        json!(int(rs, "/status/readyReplicas")),
        json!(age(rs, now)),
        containers,
        images,
        json!(selector(rs, "/spec/selector")),
    ]
    .into()
}

pub(crate) const DAEMONSET_COLUMNS: &[Col] = &[
    NAME,
    col("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
    col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
    col("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
    col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
    col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) fn daemonset_row(ds: &Value, now: OffsetDateTime) -> Row {
    let (containers, images) = containers_and_images(ds, "/spec/template/spec/containers");
    vec![
        name(ds),
        json!(int(ds, "/status/desiredNumberScheduled")),
        json!(int(ds, "/status/currentNumberScheduled")),
        json!(int(ds, "/status/numberReady")),
        json!(int(ds, "/status/updatedNumberScheduled")),
        json!(int(ds, "/status/numberAvailable")),
        json!(format_labels(ds, "/spec/template/spec/nodeSelector")),
        json!(age(ds, now)),
        containers,
        images,
        json!(selector(ds, "/spec/selector")),
    ]
    .into()
}

pub(crate) const STATEFULSET_COLUMNS: &[Col] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

pub(crate) fn statefulset_row(sts: &Value, now: OffsetDateTime) -> Row {
    let (containers, images) = containers_and_images(sts, "/spec/template/spec/containers");
    vec![
        name(sts),
        json!(format!(
            "{}/{}",
            int(sts, "/status/readyReplicas"),
            int(sts, "/spec/replicas")
        )),
        json!(age(sts, now)),
        containers,
        images,
    ]
    .into()
}

pub(crate) const JOB_COLUMNS: &[Col] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col(
        "Completions",
        "string",
        "The number of pods which reached phase Succeeded.",
    ),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) fn job_row(job: &Value, now: OffsetDateTime) -> Row {
    let succeeded = int(job, "/status/succeeded");
    let completions = match job.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int(job, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = opt_text(job, "/status/startTime").and_then(parse_time);
    let end = opt_text(job, "/status/completionTime").and_then(parse_time);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now - s),
        (Some(s), Some(e)) => human_duration(e - s),
    };
    // Upstream's hasJobCondition: the first condition of the type decides.
    let has = |t: &str| {
        list(job, "/status/conditions")
            .iter()
            .find(|c| text(c, "/type") == t)
            .is_some_and(|c| text(c, "/status") == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if job
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (containers, images) = containers_and_images(job, "/spec/template/spec/containers");
    vec![
        name(job),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(job, now)),
        containers,
        images,
        json!(selector(job, "/spec/selector")),
    ]
    .into()
}

pub(crate) const CRONJOB_COLUMNS: &[Col] = &[
    NAME,
    col("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    col("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false."),
    col("Active", "integer", "A list of pointers to currently running jobs."),
    col("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) fn cronjob_row(cj: &Value, now: OffsetDateTime) -> Row {
    let suspend = match cj.pointer("/spec/suspend").and_then(Value::as_bool) {
        None => "<unset>",
        Some(true) => "True",
        Some(false) => "False",
    };
    let last_schedule = opt_text(cj, "/status/lastScheduleTime").map_or_else(
        || "<none>".to_owned(),
        |t| crate::table::age::since(Some(t), now),
    );
    let (containers, images) =
        containers_and_images(cj, "/spec/jobTemplate/spec/template/spec/containers");
    vec![
        name(cj),
        json!(text(cj, "/spec/schedule")),
        json!(opt_text(cj, "/spec/timeZone").unwrap_or("<none>")),
        json!(suspend),
        json!(list(cj, "/status/active").len()),
        json!(last_schedule),
        json!(age(cj, now)),
        containers,
        images,
        json!(selector(cj, "/spec/jobTemplate/spec/selector")),
    ]
    .into()
}

pub(crate) const HPA_COLUMNS: &[Col] = &[
    NAME,
    col("Reference", "string", "reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource."),
    col("Targets", "string", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
    col("MinPods", "string", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
    col("MaxPods", "string", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up."),
    col("Replicas", "string", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
    AGE,
];

/// autoscaling/v1: one CPU utilisation target (80% when unset, as upstream defaults it).
pub(crate) fn hpa_row(hpa: &Value, now: OffsetDateTime) -> Row {
    let reference = format!(
        "{}/{}",
        text(hpa, "/spec/scaleTargetRef/kind"),
        text(hpa, "/spec/scaleTargetRef/name")
    );
    let target = hpa
        .pointer("/spec/targetCPUUtilizationPercentage")
        .and_then(Value::as_i64)
        .unwrap_or(80);
    let current = hpa
        .pointer("/status/currentCPUUtilizationPercentage")
        .and_then(Value::as_i64)
        .map_or_else(|| "<unknown>".to_owned(), |c| format!("{c}%"));
    let min_pods = hpa
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .map_or_else(|| "<unset>".to_owned(), |m| m.to_string());
    vec![
        name(hpa),
        json!(reference),
        json!(format!("cpu: {current}/{target}%")),
        json!(min_pods),
        json!(int(hpa, "/spec/maxReplicas")),
        json!(int(hpa, "/status/currentReplicas")),
        json!(age(hpa, now)),
    ]
    .into()
}
