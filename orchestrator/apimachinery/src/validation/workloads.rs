//! Workload controllers (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`): replicas, selectors
//! that must match the pod template, strategies, and job and cron job settings.

use serde_json::{Map, Value};

use super::meta::{map_at, str_at, validate_labels};
use super::pod::validate_template;
use super::FieldError;

const ALWAYS: &[&str] = &["Always"];
const JOB_RESTART: &[&str] = &["OnFailure", "Never"];

fn non_negative(errors: &mut Vec<FieldError>, spec: Option<&Value>, key: &str, path: &str) {
    if let Some(value) = spec.and_then(|s| s.get(key)).and_then(Value::as_i64) {
        if value < 0 {
            errors.push(FieldError::invalid(
                format!("{path}.{key}"),
                value,
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn one_of(errors: &mut Vec<FieldError>, value: Option<&str>, path: &str, allowed: &[&str]) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        if !allowed.contains(&value) {
            errors.push(FieldError::not_supported(path, value, allowed));
        }
    }
}

/// Whether a `metav1.LabelSelector` selects objects with `labels`.
fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let labels_ok = match_labels
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    let expressions_ok = expressions.into_iter().flatten().all(|expression| {
        let key = expression
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let values: Vec<&str> = expression
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let actual = labels.get(key).and_then(Value::as_str);
        match expression
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "In" => actual.is_some_and(|a| values.contains(&a)),
            "NotIn" => actual.is_none_or(|a| !values.contains(&a)),
            "Exists" => actual.is_some(),
            "DoesNotExist" => actual.is_none(),
            _ => false,
        }
    });
    labels_ok && expressions_ok
}

fn selector_is_empty(selector: &Value) -> bool {
    let labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    labels && expressions
}

/// The selector and template shared by Deployment, ReplicaSet, DaemonSet and StatefulSet.
fn validate_selector_and_template(
    spec: Option<&Value>,
    kind_word: &str,
    restart: Option<&[&str]>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let template = spec.and_then(|s| s.get("template"));
    match spec
        .and_then(|s| s.get("selector"))
        .filter(|s| !s.is_null())
    {
        None => errors.push(FieldError::required("spec.selector", "")),
        Some(selector) if selector_is_empty(selector) => {
            errors.push(FieldError::invalid(
                "spec.selector",
                selector.clone(),
                format!("empty selector is invalid for {kind_word}"),
            ));
        }
        Some(selector) => {
            errors.extend(validate_labels(
                map_at(Some(selector), "matchLabels"),
                "spec.selector.matchLabels",
            ));
            let empty = Map::new();
            let labels =
                map_at(template.and_then(|t| t.get("metadata")), "labels").unwrap_or(&empty);
            if template.is_some() && !selector_matches(selector, labels) {
                errors.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    Value::Object(labels.clone()),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errors.extend(validate_template(template, "spec.template", restart));
    errors
}

pub(super) fn validate_deployment(deployment: &Value) -> Vec<FieldError> {
    let spec = deployment.get("spec");
    let mut errors = Vec::new();
    non_negative(&mut errors, spec, "replicas", "spec");
    errors.extend(validate_selector_and_template(
        spec,
        "deployment",
        Some(ALWAYS),
    ));
    let strategy = spec.and_then(|s| s.get("strategy"));
    let strategy_type = str_at(strategy, "type");
    one_of(
        &mut errors,
        strategy_type,
        "spec.strategy.type",
        &["Recreate", "RollingUpdate"],
    );
    let rolling = strategy
        .and_then(|s| s.get("rollingUpdate"))
        .filter(|r| !r.is_null());
    if strategy_type == Some("Recreate") && rolling.is_some() {
        errors.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    if let Some(rolling) = rolling {
        let is_zero = |key: &str| {
            rolling
                .get(key)
                .is_some_and(|v| v.as_i64() == Some(0) || v.as_str() == Some("0%"))
        };
        if is_zero("maxUnavailable") && is_zero("maxSurge") {
            errors.push(FieldError::invalid(
                "spec.strategy.rollingUpdate.maxUnavailable",
                rolling
                    .get("maxUnavailable")
                    .cloned()
                    .unwrap_or(Value::Null),
                "may not be 0 when `maxSurge` is 0",
            ));
        }
    }
    non_negative(&mut errors, spec, "revisionHistoryLimit", "spec");
    non_negative(&mut errors, spec, "minReadySeconds", "spec");
    let min_ready = spec
        .and_then(|s| s.get("minReadySeconds"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(deadline) = spec
        .and_then(|s| s.get("progressDeadlineSeconds"))
        .and_then(Value::as_i64)
    {
        if deadline <= min_ready {
            errors.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errors
}

pub(super) fn validate_replica_set(replica_set: &Value) -> Vec<FieldError> {
    let spec = replica_set.get("spec");
    let mut errors = Vec::new();
    non_negative(&mut errors, spec, "replicas", "spec");
    non_negative(&mut errors, spec, "minReadySeconds", "spec");
    errors.extend(validate_selector_and_template(
        spec,
        "replicaset",
        Some(ALWAYS),
    ));
    errors
}

pub(super) fn validate_daemon_set(daemon_set: &Value) -> Vec<FieldError> {
    let spec = daemon_set.get("spec");
    let mut errors = validate_selector_and_template(spec, "daemonset", Some(ALWAYS));
    let strategy = str_at(spec.and_then(|s| s.get("updateStrategy")), "type");
    one_of(
        &mut errors,
        strategy,
        "spec.updateStrategy.type",
        &["OnDelete", "RollingUpdate"],
    );
    non_negative(&mut errors, spec, "revisionHistoryLimit", "spec");
    errors
}

pub(super) fn validate_stateful_set(stateful_set: &Value) -> Vec<FieldError> {
    let spec = stateful_set.get("spec");
    let mut errors = Vec::new();
    non_negative(&mut errors, spec, "replicas", "spec");
    errors.extend(validate_selector_and_template(
        spec,
        "statefulset",
        Some(ALWAYS),
    ));
    one_of(
        &mut errors,
        str_at(spec, "podManagementPolicy"),
        "spec.podManagementPolicy",
        &["OrderedReady", "Parallel"],
    );
    let strategy = str_at(spec.and_then(|s| s.get("updateStrategy")), "type");
    one_of(
        &mut errors,
        strategy,
        "spec.updateStrategy.type",
        &["OnDelete", "RollingUpdate"],
    );
    errors
}

fn validate_job_spec(spec: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        non_negative(&mut errors, spec, key, path);
    }
    let mode = str_at(spec, "completionMode");
    one_of(
        &mut errors,
        mode,
        &format!("{path}.completionMode"),
        &["NonIndexed", "Indexed"],
    );
    if mode == Some("Indexed")
        && spec
            .and_then(|s| s.get("completions"))
            .is_none_or(Value::is_null)
    {
        errors.push(FieldError::required(
            format!("{path}.completions"),
            "when completion mode is Indexed",
        ));
    }
    let template = spec.and_then(|s| s.get("template"));
    errors.extend(validate_template(
        template,
        &format!("{path}.template"),
        Some(JOB_RESTART),
    ));
    errors
}

pub(super) fn validate_job(job: &Value) -> Vec<FieldError> {
    validate_job_spec(job.get("spec"), "spec")
}

pub(super) fn validate_cron_job(cron_job: &Value) -> Vec<FieldError> {
    let spec = cron_job.get("spec");
    let mut errors = Vec::new();
    match str_at(spec, "schedule").unwrap_or_default() {
        "" => errors.push(FieldError::required("spec.schedule", "")),
        schedule if !schedule_is_valid(schedule) => {
            errors.push(FieldError::invalid(
                "spec.schedule",
                schedule,
                format!("unparseable schedule: {schedule:?}"),
            ));
        }
        _ => {}
    }
    one_of(
        &mut errors,
        str_at(spec, "concurrencyPolicy"),
        "spec.concurrencyPolicy",
        &["Allow", "Forbid", "Replace"],
    );
    for key in [
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "startingDeadlineSeconds",
    ] {
        non_negative(&mut errors, spec, key, "spec");
    }
    let job_spec = spec
        .and_then(|s| s.get("jobTemplate"))
        .and_then(|t| t.get("spec"));
    errors.extend(validate_job_spec(job_spec, "spec.jobTemplate.spec"));
    errors
}

/// A cron schedule: a `@` descriptor or five fields of digits, `*`, `/`, `-`, `,`, `?` and names.
fn schedule_is_valid(schedule: &str) -> bool {
    let schedule = match schedule.split_once(' ') {
        Some((tz, rest)) if tz.starts_with("TZ=") || tz.starts_with("CRON_TZ=") => rest.trim(),
        _ => schedule.trim(),
    };
    if let Some(descriptor) = schedule.strip_prefix('@') {
        return matches!(
            descriptor,
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"
        ) || descriptor
            .strip_prefix("every ")
            .is_some_and(|d| !d.trim().is_empty());
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | '-' | ',' | '?'))
        })
}
