//! Job: run pods until `completions` succeed (or, without completions, until one succeeds and the
//! rest stop), at most `parallelism` at a time; fail after `backoffLimit` failed pods or past
//! `activeDeadlineSeconds`. Conditions Complete/Failed and status counts as upstream.

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use crate::change::{controller_ref, is_controlled_by, is_terminating, Change, Target};
use crate::pods::{is_active, is_ready, phase, pod_from_template};
use crate::state::ClusterState;

/// Reconciles every Job.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    state
        .jobs
        .values()
        .flat_map(|job| reconcile(job, state))
        .collect()
}

/// Whether the Job has a True Complete or Failed condition.
pub fn finished(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// What one Job needs.
pub fn reconcile(job: &Job, state: &ClusterState) -> Vec<Change> {
    let meta = &job.metadata;
    if is_terminating(meta) {
        return Vec::new();
    }
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let spec = job.spec.clone().unwrap_or_default();
    let pods: Vec<&Pod> = state
        .pods_in(namespace)
        .filter(|p| is_controlled_by(&p.metadata, uid))
        .collect();
    let active: Vec<&Pod> = pods.iter().copied().filter(|p| is_active(p)).collect();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i32;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i32;
    let ready = active.iter().filter(|p| is_ready(p)).count() as i32;
    let mut changes = Vec::new();
    let status = job.status.clone().unwrap_or_default();
    let mut conditions = status.conditions.clone().unwrap_or_default();
    let now = Time(state.now);
    let delete_active = |changes: &mut Vec<Change>| {
        for pod in &active {
            changes.push(Change::Delete {
                target: Target::of(*pod),
                propagation: None,
                uid: pod.metadata.uid.clone(),
            });
        }
    };

    let done = finished(job).map(str::to_string);
    let suspended = spec.suspend.unwrap_or(false);
    let start_time = status
        .start_time
        .clone()
        .or_else(|| (!suspended).then(|| now.clone()));
    let mut completion_time = status.completion_time.clone();
    if done.is_some() {
        if done.as_deref() == Some("Failed") {
            delete_active(&mut changes);
        }
    } else {
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let deadline_passed = spec
            .active_deadline_seconds
            .zip(start_time.as_ref())
            .is_some_and(|(d, s)| s.0.as_second() + d <= state.now.as_second());
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let complete = match spec.completions {
            Some(c) => succeeded >= c,
            None => succeeded > 0 && active.is_empty(),
        };
        if failed > backoff_limit {
            delete_active(&mut changes);
            add_condition(
                &mut conditions,
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                &now,
            );
            changes.push(Change::warning(
                job,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit".into(),
            ));
        } else if deadline_passed {
            delete_active(&mut changes);
            add_condition(
                &mut conditions,
                "Failed",
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
                &now,
            );
            changes.push(Change::warning(
                job,
                "DeadlineExceeded",
                "Job was active longer than specified deadline".into(),
            ));
        } else if complete {
            add_condition(&mut conditions, "Complete", "", "", &now);
            completion_time = Some(now.clone());
            changes.push(Change::normal(job, "Completed", "Job completed".into()));
        } else {
            let wanted = if suspended {
                0
            } else {
                match spec.completions {
                    Some(c) => parallelism.min(c - succeeded),
                    // Work queue: once one pod succeeded, no new ones.
                    None if succeeded > 0 => active.len() as i32,
                    None => parallelism,
                }
            };
            let have = active.len() as i32;
            if have < wanted {
                for _ in 0..(wanted - have) {
                    let pod = pod_from_template(
                        &spec.template,
                        namespace,
                        &format!("{name}-"),
                        true,
                        controller_ref(job),
                    );
                    changes.push(Change::Create {
                        target: Target::new::<Pod>(Some(namespace), &format!("{name}-")),
                        object: pod,
                    });
                }
                changes.push(Change::normal(
                    job,
                    "SuccessfulCreate",
                    format!("Created {} pod(s)", wanted - have),
                ));
            } else if have > wanted {
                for pod in active.iter().rev().take((have - wanted) as usize) {
                    changes.push(Change::Delete {
                        target: Target::of(*pod),
                        propagation: None,
                        uid: pod.metadata.uid.clone(),
                    });
                }
            }
        }
    }
    let active_count = if finished(job).is_some()
        || conditions
            .iter()
            .any(|c| c.status == "True" && (c.type_ == "Failed"))
    {
        0
    } else {
        active.len() as i32
    };
    let new_status = json!({
        "active": active_count, "succeeded": succeeded, "failed": failed, "ready": ready,
        "startTime": start_time, "completionTime": completion_time, "conditions": conditions,
    });
    let old_status = json!({
        "active": status.active.unwrap_or(0), "succeeded": status.succeeded.unwrap_or(0), "failed": status.failed.unwrap_or(0),
        "ready": status.ready.unwrap_or(0), "startTime": status.start_time, "completionTime": status.completion_time,
        "conditions": status.conditions.unwrap_or_default(),
    });
    if new_status != old_status {
        changes.push(Change::PatchStatus {
            target: Target::of(job),
            patch: json!({"status": new_status}),
        });
    }
    changes
}

fn add_condition(
    conditions: &mut Vec<JobCondition>,
    type_: &str,
    reason: &str,
    message: &str,
    now: &Time,
) {
    conditions.retain(|c| c.type_ != type_);
    conditions.push(JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: (!reason.is_empty()).then(|| reason.into()),
        message: (!message.is_empty()).then(|| message.into()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, state};

    fn job(extra: serde_json::Value) -> serde_json::Value {
        let mut j = json!({"metadata": {"name": "pi", "namespace": "default", "uid": "job-uid"},
            "spec": {"completions": 3, "parallelism": 2, "backoffLimit": 1,
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}}}});
        crate::testing::merge(&mut j, extra);
        j
    }

    fn pod(name: &str, phase: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": "default", "uid": name,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid", "controller": true}]},
            "spec": {"containers": []}, "status": {"phase": phase}})
    }

    fn creates(changes: &[Change]) -> usize {
        changes
            .iter()
            .filter(|c| matches!(c, Change::Create { .. }))
            .count()
    }

    fn condition(changes: &[Change]) -> Option<(String, String)> {
        changes.iter().find_map(|c| match c {
            Change::PatchStatus { patch, .. } => patch["status"]["conditions"]
                .as_array()
                .and_then(|c| c.last())
                .map(|c| {
                    (
                        c["type"].as_str().unwrap_or_default().to_string(),
                        c["reason"].as_str().unwrap_or_default().to_string(),
                    )
                }),
            _ => None,
        })
    }

    #[test]
    fn parallelism_and_remaining_completions_bound_the_running_pods() {
        let cases = [
            (vec![], 2),
            (vec![("a", "Succeeded")], 2),
            (vec![("a", "Succeeded"), ("b", "Succeeded")], 1),
            (vec![("a", "Succeeded"), ("b", "Running")], 1),
            (vec![("a", "Running"), ("b", "Running")], 0),
        ];
        for (pods, want) in cases {
            let mut objects = vec![("Job", job(json!({})))];
            objects.extend(pods.iter().map(|(n, p)| ("Pod", pod(n, p))));
            let s = state(objects);
            assert_eq!(
                creates(&reconcile(&object(job(json!({}))), &s)),
                want,
                "{pods:?}"
            );
        }
    }

    #[test]
    fn enough_successes_complete_the_job() {
        let s = state(vec![
            ("Pod", pod("a", "Succeeded")),
            ("Pod", pod("b", "Succeeded")),
            ("Pod", pod("c", "Succeeded")),
        ]);
        let changes = reconcile(&object(job(json!({}))), &s);
        assert_eq!(
            condition(&changes),
            Some(("Complete".into(), String::new()))
        );
        assert_eq!(creates(&changes), 0);
    }

    #[test]
    fn failures_beyond_the_backoff_limit_fail_the_job_and_stop_its_pods() {
        let s = state(vec![
            ("Pod", pod("a", "Failed")),
            ("Pod", pod("b", "Failed")),
            ("Pod", pod("c", "Running")),
        ]);
        let changes = reconcile(&object(job(json!({}))), &s);
        assert_eq!(
            condition(&changes),
            Some(("Failed".into(), "BackoffLimitExceeded".into()))
        );
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::Delete { target, .. } if target.name == "c")));
    }

    #[test]
    fn an_active_deadline_fails_the_job() {
        let j = job(
            json!({"spec": {"activeDeadlineSeconds": 60}, "status": {"startTime": "2025-12-31T23:58:00Z"}}),
        );
        let changes = reconcile(&object(j), &state(vec![]));
        assert_eq!(
            condition(&changes),
            Some(("Failed".into(), "DeadlineExceeded".into()))
        );
    }

    #[test]
    fn a_suspended_job_runs_nothing() {
        let s = state(vec![("Pod", pod("a", "Running"))]);
        let changes = reconcile(&object(job(json!({"spec": {"suspend": true}}))), &s);
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::Delete { target, .. } if target.name == "a")));
        assert_eq!(creates(&changes), 0);
    }
}
