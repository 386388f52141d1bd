//! The states of a pod and of each of its containers, as the worker tracks them.

use clusterd_cri::api;

use super::backoff::Backoff;

/// Where a pod is in its life on this node.
///
/// ```text
///  Preparing ──► Initializing ──► Running ──► Finished(Succeeded | Failed)
///      │              │              │              │
///      └──────────────┴──────┬───────┴──────────────┘
///                            ▼ deletionTimestamp set
///                       Terminating ──► (pod deleted from the API, worker ends)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Volumes and the sandbox (network namespace, pod IP) are being set up.
    Preparing,
    /// Init containers run one at a time, in order (native sidecars are started and left running).
    Initializing,
    /// Every init container completed; the containers run and restart per `restartPolicy`.
    Running,
    /// No container will run again: the pod Succeeded (`true`) or Failed (`false`).
    Finished(bool),
    /// The pod is being deleted: preStop hooks, SIGTERM, the grace period, SIGKILL, removal.
    Terminating,
}

/// How a container instance ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    /// The runtime's container id.
    pub container_id: String,
    /// The process's exit code.
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`, `StartError`, ...
    pub reason: String,
    /// The runtime's message, if any.
    pub message: String,
    /// Start time, nanoseconds since the epoch.
    pub started_at: i64,
    /// Exit time, nanoseconds since the epoch.
    pub finished_at: i64,
}

/// What the runtime last said about a container's current instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// No instance yet.
    Absent,
    /// Created, not started.
    Created,
    /// Running since this time (nanoseconds since the epoch).
    Running(i64),
    /// Exited.
    Exited(Terminated),
}

/// One container of the pod (init or regular) across its restarts.
///
/// Its own state machine: `Waiting(ContainerCreating | PodInitializing | ErrImagePull |
/// ImagePullBackOff | CreateContainerConfigError | ...) ─► Running ─► Terminated ─►
/// Waiting(CrashLoopBackOff) ─► Running ...` (restarts per the pod's `restartPolicy`, or always for
/// native sidecars).
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    /// The container's name in the pod spec.
    pub name: String,
    /// The current instance's id.
    pub id: Option<String>,
    /// The instance before it (kept for `logs --previous`), removed at the next restart.
    pub previous_id: Option<String>,
    /// How many times it was restarted.
    pub restart_count: u32,
    /// The image id the current instance runs.
    pub image_id: String,
    /// The runtime's view of the current instance.
    pub observed: Observed,
    /// Why it is not running, when the agent knows better than the runtime (image, config).
    pub waiting: Option<(String, String)>,
    /// How the previous instance ended.
    pub last_terminated: Option<Terminated>,
    /// The current instance's exit was already counted against the back-off.
    pub exit_counted: bool,
    /// Restart back-off (CrashLoopBackOff).
    pub restart_backoff: Backoff,
    /// Image pull back-off (ImagePullBackOff).
    pub pull_backoff: Backoff,
    /// The readiness probe succeeds (or there is none) while running.
    pub ready: bool,
    /// The startup probe succeeded (or there is none) while running.
    pub started: bool,
}

impl ContainerRecord {
    /// A container not started yet.
    pub fn new(name: &str, backoff: Backoff) -> Self {
        ContainerRecord {
            name: name.to_owned(),
            id: None,
            previous_id: None,
            restart_count: 0,
            image_id: String::new(),
            observed: Observed::Absent,
            waiting: None,
            last_terminated: None,
            exit_counted: false,
            restart_backoff: backoff.clone(),
            pull_backoff: backoff,
            ready: false,
            started: false,
        }
    }

    /// True while the current instance runs.
    pub fn running(&self) -> bool {
        matches!(self.observed, Observed::Running(_))
    }

    /// The current instance's termination, if it exited.
    pub fn exited(&self) -> Option<&Terminated> {
        match &self.observed {
            Observed::Exited(t) => Some(t),
            _ => None,
        }
    }
}

/// The runtime's container status as an [`Observed`].
pub fn observe(status: &api::ContainerStatus) -> Observed {
    match api::ContainerState::try_from(status.state) {
        Ok(api::ContainerState::ContainerCreated) => Observed::Created,
        Ok(api::ContainerState::ContainerRunning) => Observed::Running(status.started_at),
        Ok(api::ContainerState::ContainerExited) => Observed::Exited(Terminated {
            container_id: status.id.clone(),
            exit_code: status.exit_code,
            reason: if !status.reason.is_empty() {
                status.reason.clone()
            } else if status.exit_code == 0 {
                "Completed".into()
            } else {
                "Error".into()
            },
            message: status.message.clone(),
            started_at: status.started_at,
            finished_at: status.finished_at,
        }),
        _ => Observed::Exited(unknown_exit(&status.id)),
    }
}

/// The termination recorded for an instance the runtime lost.
pub fn unknown_exit(id: &str) -> Terminated {
    Terminated {
        container_id: id.to_owned(),
        exit_code: 137,
        reason: "ContainerStatusUnknown".into(),
        message: "The container could not be located when the pod was terminated".into(),
        started_at: 0,
        finished_at: 0,
    }
}
