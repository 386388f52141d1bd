//! The pod's status as the API shows it: phase, conditions, IPs and container statuses.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::state::{ContainerRecord, Observed, PodState, Terminated};

/// RFC 3339 time (whole seconds) of nanoseconds since the epoch; `None` for 0.
pub fn time_of(nanos: i64) -> Option<String> {
    if nanos <= 0 {
        return None;
    }
    Timestamp::from_second(nanos / 1_000_000_000)
        .ok()
        .map(|t| t.to_string())
}

/// The current time as the API writes it.
pub fn now() -> String {
    Timestamp::from_second(Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn terminated_json(t: &Terminated) -> Value {
    let mut value = json!({
        "exitCode": t.exit_code,
        "reason": t.reason,
        "containerID": format!("containerd://{}", t.container_id),
    });
    if !t.message.is_empty() {
        value["message"] = json!(t.message);
    }
    if let Some(started) = time_of(t.started_at) {
        value["startedAt"] = json!(started);
    }
    if let Some(finished) = time_of(t.finished_at) {
        value["finishedAt"] = json!(finished);
    }
    value
}

/// One entry of `containerStatuses` / `initContainerStatuses`.
pub fn container_status(
    spec: &Container,
    record: &ContainerRecord,
    default_waiting: &str,
) -> Value {
    let state = match (&record.waiting, &record.observed) {
        (Some((reason, message)), _) => {
            let mut waiting = json!({ "reason": reason });
            if !message.is_empty() {
                waiting["message"] = json!(message);
            }
            json!({ "waiting": waiting })
        }
        (None, Observed::Running(started)) => {
            json!({ "running": { "startedAt": time_of(*started).unwrap_or_else(now) } })
        }
        (None, Observed::Exited(t)) => json!({ "terminated": terminated_json(t) }),
        (None, _) => json!({ "waiting": { "reason": default_waiting } }),
    };
    let last_state = match &record.last_terminated {
        Some(t) => json!({ "terminated": terminated_json(t) }),
        None => json!({}),
    };
    let mut value = json!({
        "name": spec.name,
        "image": spec.image.clone().unwrap_or_default(),
        "imageID": record.image_id,
        "ready": record.running() && record.ready,
        "started": record.running() && record.started,
        "restartCount": record.restart_count,
        "state": state,
        "lastState": last_state,
    });
    if let Some(id) = &record.id {
        value["containerID"] = json!(format!("containerd://{id}"));
    }
    value
}

/// What the status is computed from.
#[derive(Debug)]
pub struct StatusInput<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Where the worker is.
    pub state: PodState,
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    pub phase: &'a str,
    /// The pod IP, once the sandbox has one.
    pub pod_ip: Option<&'a str>,
    /// The node's IP.
    pub host_ip: &'a str,
    /// When the agent accepted the pod.
    pub start_time: &'a str,
    /// The sandbox is ready with its network.
    pub sandbox_ready: bool,
    /// Every container's record by name.
    pub records: &'a BTreeMap<String, ContainerRecord>,
    /// A message for the pod (e.g. why it failed).
    pub message: Option<&'a str>,
}

/// The full status; `transitions` keeps each condition's `(status, lastTransitionTime)`.
pub fn pod_status(
    input: &StatusInput<'_>,
    transitions: &mut BTreeMap<String, (String, String)>,
) -> Value {
    let spec = input.pod.spec.clone().unwrap_or_default();
    let empty = ContainerRecord::new(
        "",
        super::backoff::Backoff::new(Default::default(), Default::default()),
    );
    let record = |name: &str| input.records.get(name).unwrap_or(&empty);
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let initialized_waiting = if matches!(input.state, PodState::Preparing | PodState::Initializing)
    {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let init_statuses: Vec<Value> = init_specs
        .iter()
        .map(|c| container_status(c, record(&c.name), "PodInitializing"))
        .collect();
    let statuses: Vec<Value> = spec
        .containers
        .iter()
        .map(|c| container_status(c, record(&c.name), initialized_waiting))
        .collect();
    let incomplete: Vec<&str> = init_specs
        .iter()
        .filter(|c| {
            let r = record(&c.name);
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            if sidecar {
                !(r.running() && r.started)
            } else {
                r.exited().is_none_or(|t| t.exit_code != 0)
            }
        })
        .map(|c| c.name.as_str())
        .collect();
    let finished = matches!(input.state, PodState::Finished(_));
    let unready: Vec<&str> = spec
        .containers
        .iter()
        .filter(|c| {
            let r = record(&c.name);
            !(r.running() && r.ready)
        })
        .map(|c| c.name.as_str())
        .collect();
    let initialized = incomplete.is_empty() || finished && input.phase == "Succeeded";
    let mut conditions: Vec<(&str, bool, Option<&str>, Option<String>)> = vec![
        ("PodReadyToStartContainers", input.sandbox_ready, None, None),
        (
            "Initialized",
            initialized,
            (!initialized).then_some("ContainersNotInitialized"),
            (!initialized).then(|| {
                format!(
                    "containers with incomplete status: [{}]",
                    incomplete.join(" ")
                )
            }),
        ),
    ];
    let ready = unready.is_empty() && !finished;
    let (reason, message) = if ready {
        (None, None)
    } else if finished {
        (Some("PodCompleted"), None)
    } else {
        (
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    conditions.push(("ContainersReady", ready, reason, message.clone()));
    conditions.push(("Ready", ready, reason, message));
    let now = now();
    let mut list: Vec<Value> = conditions
        .into_iter()
        .map(|(kind, status, reason, message)| {
            let status = if status { "True" } else { "False" };
            let since = match transitions.get(kind) {
                Some((old, since)) if old == status => since.clone(),
                _ => now.clone(),
            };
            transitions.insert(kind.to_owned(), (status.to_owned(), since.clone()));
            let mut condition = json!({ "type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": since });
            if let Some(reason) = reason {
                condition["reason"] = json!(reason);
            }
            if let Some(message) = message {
                condition["message"] = json!(message);
            }
            condition
        })
        .collect();
    // The scheduler's condition stays as it wrote it.
    if let Some(scheduled) = input
        .pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
    {
        list.insert(0, serde_json::to_value(scheduled).unwrap_or_default());
    } else {
        list.insert(0, json!({ "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": input.start_time }));
    }
    let mut status = json!({
        "phase": input.phase,
        "conditions": list,
        "hostIP": input.host_ip,
        "hostIPs": [{ "ip": input.host_ip }],
        "startTime": input.start_time,
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    if let Some(ip) = input.pod_ip.filter(|ip| !ip.is_empty()) {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{ "ip": ip }]);
    }
    if let Some(message) = input.message {
        status["message"] = json!(message);
    }
    status
}
