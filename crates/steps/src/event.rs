//! Progress events and the reporters that receive them.

use std::sync::Mutex;
use std::time::Duration;

use crate::mutator::lock;

/// What happened during a run, in order; the CLI renders these as progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step began; `index` is its 1-based position out of `total` ("3/8").
    StepStarted {
        /// 1-based position of the step.
        index: usize,
        /// Number of steps in the run.
        total: usize,
        /// The step's title.
        title: String,
    },
    /// A running step reported sub-progress ("Waiting for control plane to be ready (12s/5m0s)").
    StepProgress {
        /// The progress line.
        message: String,
    },
    /// A step completed.
    StepFinished {
        /// The step's title.
        title: String,
        /// How long it ran.
        elapsed: Duration,
    },
    /// A step was not run because its `is_done` check said it was already done.
    StepSkipped {
        /// 1-based position of the step.
        index: usize,
        /// Number of steps in the run.
        total: usize,
        /// The step's title.
        title: String,
    },
    /// A step failed; cleanup (or retention) follows.
    StepFailed {
        /// The step's title.
        title: String,
        /// The error and its causes, rendered on one line.
        error: String,
        /// How long it ran before failing.
        elapsed: Duration,
    },
    /// The run was cancelled while this step was running; nothing is cleaned up.
    StepCancelled {
        /// The step's title.
        title: String,
        /// How long it ran before cancellation.
        elapsed: Duration,
    },
    /// Cleanup of a step began.
    CleanupStarted {
        /// The title of the step being cleaned up.
        title: String,
    },
    /// Cleanup of a step completed.
    CleanupFinished {
        /// The title of the step that was cleaned up.
        title: String,
        /// How long the cleanup took.
        elapsed: Duration,
    },
    /// Cleanup of a step failed; the runner goes on with the remaining cleanups.
    CleanupFailed {
        /// The title of the step whose cleanup failed.
        title: String,
        /// The error and its causes, rendered on one line.
        error: String,
        /// How long the cleanup ran before failing.
        elapsed: Duration,
    },
}

/// Receives progress events; the CLI implements it with indicatif, tests use [`RecordingReporter`].
pub trait Reporter: Send + Sync {
    /// Handles one event; called in order, and must not block for long.
    fn report(&self, event: Event);
}

/// A reporter that drops every event, for callers that do not show progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn report(&self, _event: Event) {}
}

/// A reporter that keeps every event, for tests.
#[derive(Debug, Default)]
pub struct RecordingReporter {
    events: Mutex<Vec<Event>>,
}

impl RecordingReporter {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event received so far, in order.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The progress messages received so far, in order.
    pub fn progress_messages(&self) -> Vec<String> {
        lock(&self.events)
            .iter()
            .filter_map(|event| match event {
                Event::StepProgress { message } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Reporter for RecordingReporter {
    fn report(&self, event: Event) {
        lock(&self.events).push(event);
    }
}
