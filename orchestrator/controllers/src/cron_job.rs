//! CronJob: at each scheduled minute (UTC) create a Job from `jobTemplate`, named
//! `<cronjob>-<minutes since epoch>` like upstream; honour `concurrencyPolicy`,
//! `startingDeadlineSeconds`, `suspend` and the success/failure history limits.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use crate::change::{
    controller_ref, is_controlled_by, is_terminating, Change, Propagation, Target,
};
use crate::cron::Schedule;
use crate::job::finished;
use crate::state::ClusterState;

/// Annotation on Jobs with the time they were scheduled for.
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// Reconciles every CronJob.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    state
        .cron_jobs
        .values()
        .flat_map(|cj| reconcile(cj, state))
        .collect()
}

/// What one CronJob needs.
pub fn reconcile(cj: &CronJob, state: &ClusterState) -> Vec<Change> {
    let meta = &cj.metadata;
    if is_terminating(meta) {
        return Vec::new();
    }
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let Some(spec) = cj.spec.clone() else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    let schedule = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(error) => {
            let message = format!("unparseable schedule: {error}");
            changes.push(Change::warning(cj, "UnparseableSchedule", message));
            return changes;
        }
    };
    if spec
        .time_zone
        .as_deref()
        .is_some_and(|tz| tz != "UTC" && tz != "Etc/UTC")
    {
        changes.push(Change::warning(
            cj,
            "UnknownTimeZone",
            format!(
                "invalid timeZone: {:?}: only UTC is supported",
                spec.time_zone.unwrap_or_default()
            ),
        ));
        return changes;
    }
    let mut jobs: Vec<&Job> = state
        .jobs
        .values()
        .filter(|j| {
            j.metadata.namespace.as_deref() == Some(namespace) && is_controlled_by(&j.metadata, uid)
        })
        .collect();
    jobs.sort_by_key(|j| j.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let active: Vec<&Job> = jobs
        .iter()
        .copied()
        .filter(|j| finished(j).is_none() && !is_terminating(&j.metadata))
        .collect();
    let status = cj.status.clone().unwrap_or_default();
    let mut last_schedule = status.last_schedule_time.clone();

    let earliest = status
        .last_schedule_time
        .as_ref()
        .or(meta.creation_timestamp.as_ref())
        .map(|t| t.0)
        .unwrap_or(state.now);
    let due = schedule
        .latest_at_or_before(state.now)
        .filter(|t| *t > earliest);
    let mut created: Option<String> = None;
    if let (Some(at), false) = (due, spec.suspend.unwrap_or(false)) {
        let too_late = spec
            .starting_deadline_seconds
            .is_some_and(|d| at.as_second() + d < state.now.as_second());
        let job_name = format!("{name}-{}", at.as_second() / 60);
        let exists = state.jobs.contains_key(&format!("{namespace}/{job_name}"));
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        if too_late {
            changes.push(Change::warning(
                cj,
                "MissSchedule",
                format!("Missed scheduled time to start a job: {}", at),
            ));
            last_schedule = Some(Time(at));
        } else if exists {
            last_schedule = Some(Time(at));
        } else if policy == "Forbid" && !active.is_empty() {
            changes.push(Change::normal(cj, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid".into()));
        } else {
            if policy == "Replace" {
                for job in &active {
                    changes.push(Change::Delete {
                        target: Target::of(*job),
                        propagation: Some(Propagation::Background),
                        uid: job.metadata.uid.clone(),
                    });
                    changes.push(Change::normal(
                        cj,
                        "SuccessfulDelete",
                        format!(
                            "Deleted job {}",
                            job.metadata.name.as_deref().unwrap_or_default()
                        ),
                    ));
                }
            }
            changes.push(Change::Create {
                target: Target::new::<Job>(Some(namespace), &job_name),
                object: job_from_template(cj, &job_name, at),
            });
            changes.push(Change::normal(
                cj,
                "SuccessfulCreate",
                format!("Created job {job_name}"),
            ));
            last_schedule = Some(Time(at));
            created = Some(job_name);
        }
    }
    changes.extend(prune_history(
        &jobs,
        spec.successful_jobs_history_limit.unwrap_or(3),
        spec.failed_jobs_history_limit.unwrap_or(1),
    ));

    let replaced = spec.concurrency_policy.as_deref() == Some("Replace") && created.is_some();
    let mut active_refs: Vec<serde_json::Value> = active
        .iter()
        .filter(|_| !replaced)
        .map(|j| json!({"apiVersion": "batch/v1", "kind": "Job", "name": j.metadata.name, "namespace": namespace, "uid": j.metadata.uid}))
        .collect();
    if let Some(job_name) = &created {
        active_refs.push(json!({"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "namespace": namespace}));
    }
    let last_successful = jobs
        .iter()
        .filter(|j| finished(j) == Some("Complete"))
        .filter_map(|j| j.status.as_ref().and_then(|s| s.completion_time.clone()))
        .max_by_key(|t| t.0)
        .or(status.last_successful_time.clone());
    let new_status = json!({"active": active_refs, "lastScheduleTime": last_schedule, "lastSuccessfulTime": last_successful});
    let current_refs: Vec<serde_json::Value> = status
        .active
        .unwrap_or_default()
        .iter()
        .map(|r| json!({"apiVersion": "batch/v1", "kind": "Job", "name": r.name, "namespace": namespace, "uid": r.uid}))
        .collect();
    let old_status = json!({"active": current_refs, "lastScheduleTime": status.last_schedule_time, "lastSuccessfulTime": status.last_successful_time});
    if new_status != old_status {
        changes.push(Change::PatchStatus {
            target: Target::of(cj),
            patch: json!({"status": new_status}),
        });
    }
    changes
}

fn job_from_template(cj: &CronJob, job_name: &str, at: Timestamp) -> serde_json::Value {
    let template = cj
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let mut annotations = template_meta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP_ANNOTATION.into(), at.to_string());
    let metadata = ObjectMeta {
        name: Some(job_name.into()),
        namespace: cj.metadata.namespace.clone(),
        labels: template_meta.labels,
        annotations: Some(annotations),
        owner_references: Some(vec![controller_ref(cj)]),
        ..ObjectMeta::default()
    };
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": template.spec})
}

fn prune_history(jobs: &[&Job], keep_successful: i32, keep_failed: i32) -> Vec<Change> {
    let mut changes = Vec::new();
    for (kind, keep) in [("Complete", keep_successful), ("Failed", keep_failed)] {
        let done: Vec<&&Job> = jobs
            .iter()
            .filter(|j| finished(j) == Some(kind) && !is_terminating(&j.metadata))
            .collect();
        let excess = done.len().saturating_sub(keep.max(0) as usize);
        for job in done.into_iter().take(excess) {
            changes.push(Change::Delete {
                target: Target::of(*job),
                propagation: Some(Propagation::Background),
                uid: job.metadata.uid.clone(),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, state};

    fn cron_job(extra: serde_json::Value) -> serde_json::Value {
        let mut cj = json!({"metadata": {"name": "backup", "namespace": "default", "uid": "cj-uid", "creationTimestamp": "2025-12-31T23:00:00Z"},
            "spec": {"schedule": "*/10 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c"}], "restartPolicy": "OnFailure"}}}}}});
        crate::testing::merge(&mut cj, extra);
        cj
    }

    fn job(name: &str, finished: Option<&str>, created: &str) -> serde_json::Value {
        let conditions = finished
            .map(|t| json!([{"type": t, "status": "True"}]))
            .unwrap_or(json!([]));
        json!({"metadata": {"name": name, "namespace": "default", "uid": name, "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "cj-uid", "controller": true}]},
            "spec": {"template": {}}, "status": {"conditions": conditions}})
    }

    fn created(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Create { target, .. } => Some(target.name.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_due_schedule_creates_a_job_named_after_the_scheduled_minute() {
        // now = 2026-01-01T00:00:00Z = minute 29432160 since the epoch.
        let changes = reconcile(
            &object(cron_job(
                json!({"status": {"lastScheduleTime": "2025-12-31T23:50:00Z"}}),
            )),
            &state(vec![]),
        );
        assert_eq!(
            created(&changes),
            vec![format!("backup-{}", 1_767_225_600 / 60)]
        );
        let Change::Create { object: j, .. } = &changes[0] else {
            unreachable!()
        };
        assert_eq!(
            j["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(j["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    }

    #[test]
    fn nothing_happens_between_scheduled_times_or_when_suspended() {
        assert!(created(&reconcile(
            &object(cron_job(
                json!({"status": {"lastScheduleTime": "2026-01-01T00:00:00Z"}})
            )),
            &state(vec![])
        ))
        .is_empty());
        assert!(created(&reconcile(
            &object(cron_job(json!({"spec": {"suspend": true}}))),
            &state(vec![])
        ))
        .is_empty());
    }

    #[test]
    fn forbid_skips_while_a_job_runs_and_replace_deletes_it() {
        let running = ("Job", job("backup-old", None, "2025-12-31T23:50:00Z"));
        let s = state(vec![running]);
        assert!(created(&reconcile(
            &object(cron_job(json!({"spec": {"concurrencyPolicy": "Forbid"}}))),
            &s
        ))
        .is_empty());
        let replace = reconcile(
            &object(cron_job(json!({"spec": {"concurrencyPolicy": "Replace"}}))),
            &s,
        );
        assert_eq!(created(&replace).len(), 1);
        assert!(replace
            .iter()
            .any(|c| matches!(c, Change::Delete { target, .. } if target.name == "backup-old")));
    }

    #[test]
    fn a_start_missed_by_more_than_the_deadline_is_skipped() {
        let cj =
            cron_job(json!({"spec": {"schedule": "55 23 * * *", "startingDeadlineSeconds": 60}}));
        let changes = reconcile(&object(cj), &state(vec![]));
        assert!(created(&changes).is_empty());
        assert!(changes.iter().any(|c| matches!(
            c,
            Change::Event {
                reason: "MissSchedule",
                ..
            }
        )));
    }

    #[test]
    fn finished_jobs_beyond_the_history_limits_are_deleted_oldest_first() {
        let s = state(vec![
            ("Job", job("ok-1", Some("Complete"), "2025-12-31T20:00:00Z")),
            ("Job", job("ok-2", Some("Complete"), "2025-12-31T21:00:00Z")),
            ("Job", job("bad-1", Some("Failed"), "2025-12-31T20:30:00Z")),
            ("Job", job("bad-2", Some("Failed"), "2025-12-31T21:30:00Z")),
        ]);
        let cj = cron_job(json!({"spec": {"successfulJobsHistoryLimit": 1, "suspend": true}}));
        let deleted: Vec<String> = reconcile(&object(cj), &s)
            .iter()
            .filter_map(|c| match c {
                Change::Delete { target, .. } => Some(target.name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, vec!["ok-1", "bad-1"]);
    }
}
