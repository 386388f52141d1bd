//! Background compaction: keep a window of recent history, discard the rest.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::Store;

/// How much history to keep. Both limits hold: the store keeps at least the last `keep_revisions`
/// revisions *and* at least everything written in the last `keep_for`.
///
/// Watches and paged lists older than the window fail with [`crate::Error::Compacted`], so the window
/// must outlast a slow client's list-then-watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// How often to check and compact.
    pub interval: Duration,
    /// Keep at least this many recent revisions (0: no count limit).
    pub keep_revisions: i64,
    /// Keep at least the revisions written this recently (zero: no age limit).
    pub keep_for: Duration,
}

impl Default for CompactionPolicy {
    /// Every minute, keep the last 1000 revisions and the last 5 minutes (the Kubernetes API server
    /// compacts etcd every 5 minutes; kine keeps 1000 revisions).
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            keep_revisions: 1000,
            keep_for: Duration::from_secs(5 * 60),
        }
    }
}

/// Decides the revision to compact to from the revisions observed over time (pure, no IO).
#[derive(Debug, Clone)]
pub struct RetentionPlanner {
    policy: CompactionPolicy,
    /// (when, current revision then), oldest first.
    samples: VecDeque<(Instant, i64)>,
    compacted: i64,
}

impl RetentionPlanner {
    /// A planner for `policy` that has observed nothing yet.
    pub fn new(policy: CompactionPolicy) -> Self {
        Self {
            policy,
            samples: VecDeque::new(),
            compacted: 0,
        }
    }

    /// Records that the store was at `current` at `now`; returns the revision to compact to, if the
    /// window has moved past the last compaction.
    pub fn plan(&mut self, now: Instant, current: i64) -> Option<i64> {
        self.samples.push_back((now, current));
        let by_age = if self.policy.keep_for.is_zero() {
            current
        } else {
            // The newest revision that was already current `keep_for` ago.
            let old_enough = self
                .samples
                .iter()
                .rposition(|(at, _)| now.saturating_duration_since(*at) >= self.policy.keep_for)?;
            // Older samples can never be chosen again.
            self.samples.drain(..old_enough);
            self.samples.front().map(|(_, revision)| *revision)?
        };
        let by_count = current.saturating_sub(self.policy.keep_revisions.max(0));
        let target = by_age.min(by_count);
        (target > self.compacted && target >= 1).then_some(target)
    }

    /// Records a successful compaction to `revision`.
    pub fn compacted(&mut self, revision: i64) {
        self.compacted = self.compacted.max(revision);
    }
}

/// A running background compactor; stops when dropped.
#[derive(Debug)]
pub struct Compactor {
    task: JoinHandle<()>,
}

impl Compactor {
    /// Starts compacting `store` every `policy.interval`, keeping the window the policy describes.
    /// Failures are logged and retried at the next interval.
    pub fn spawn<S: Store + 'static>(store: S, policy: CompactionPolicy) -> Self {
        let task = tokio::spawn(async move {
            let mut planner = RetentionPlanner::new(policy.clone());
            let mut ticker = tokio::time::interval(policy.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let current = match store.current_revision().await {
                    Ok(current) => current,
                    Err(error) => {
                        tracing::warn!(%error, "compactor could not read the current revision");
                        continue;
                    }
                };
                let now = tokio::time::Instant::now().into_std();
                let Some(target) = planner.plan(now, current) else {
                    continue;
                };
                match store.compact(target).await {
                    Ok(()) => {
                        planner.compacted(target);
                        tracing::info!(revision = target, current, "compacted store history");
                    }
                    Err(error) => {
                        tracing::warn!(%error, revision = target, "compaction failed, retrying later")
                    }
                }
            }
        });
        Self { task }
    }

    /// Stops the compactor and waits for it to finish.
    pub async fn stop(self) {
        self.task.abort();
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(keep_revisions: i64, keep_for_secs: u64) -> CompactionPolicy {
        CompactionPolicy {
            interval: Duration::from_secs(1),
            keep_revisions,
            keep_for: Duration::from_secs(keep_for_secs),
        }
    }

    #[test]
    fn count_limit_keeps_the_last_n_revisions() {
        let mut planner = RetentionPlanner::new(policy(100, 0));
        let start = Instant::now();
        assert_eq!(planner.plan(start, 50), None);
        assert_eq!(planner.plan(start, 350), Some(250));
    }

    #[test]
    fn age_limit_waits_until_a_revision_is_old_enough() {
        let mut planner = RetentionPlanner::new(policy(0, 300));
        let start = Instant::now();
        assert_eq!(planner.plan(start, 10), None);
        assert_eq!(planner.plan(start + Duration::from_secs(120), 500), None);
        // Five minutes after the first sample, everything up to what was current then may go.
        assert_eq!(
            planner.plan(start + Duration::from_secs(300), 900),
            Some(10)
        );
        assert_eq!(
            planner.plan(start + Duration::from_secs(420), 950),
            Some(500)
        );
    }

    #[test]
    fn both_limits_keep_whichever_window_is_larger() {
        let mut planner = RetentionPlanner::new(policy(1000, 60));
        let start = Instant::now();
        planner.plan(start, 5000);
        // By age 5000 could go, but the last 1000 revisions stay.
        assert_eq!(
            planner.plan(start + Duration::from_secs(60), 5500),
            Some(4500)
        );
        // By count 9000 could go, but only what was current a minute ago may.
        planner.plan(start + Duration::from_secs(100), 7000);
        assert_eq!(
            planner.plan(start + Duration::from_secs(160), 10_000),
            Some(7000)
        );
    }

    #[test]
    fn nothing_is_planned_twice() {
        let mut planner = RetentionPlanner::new(policy(10, 0));
        let now = Instant::now();
        assert_eq!(planner.plan(now, 100), Some(90));
        planner.compacted(90);
        assert_eq!(planner.plan(now, 100), None);
        assert_eq!(planner.plan(now, 101), Some(91));
    }

    #[test]
    fn samples_older_than_the_window_are_forgotten() {
        let mut planner = RetentionPlanner::new(policy(0, 10));
        let start = Instant::now();
        for second in 0..1000 {
            planner.plan(start + Duration::from_secs(second), second as i64 + 1);
        }
        assert!(
            planner.samples.len() <= 12,
            "kept {} samples",
            planner.samples.len()
        );
    }
}
