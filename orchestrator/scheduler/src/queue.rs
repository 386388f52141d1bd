//! The scheduling queue: pods waiting for a node, by priority then arrival; failed pods back off
//! exponentially, unschedulable ones wait until the cluster changes (or a timeout passes).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Backoff and timeout settings (upstream defaults: 1 s, 10 s, 5 min).
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Backoff after the first failed attempt.
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// How long an unschedulable pod waits with no cluster change before it is retried anyway.
    pub unschedulable_timeout: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            unschedulable_timeout: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone)]
struct Waiting {
    priority: i32,
    attempts: u32,
    since: Instant,
}

/// Pods to schedule, keyed `namespace/name`.
#[derive(Debug, Default)]
pub struct SchedulingQueue {
    config: QueueConfig,
    sequence: u64,
    /// (highest priority first, then oldest) → key.
    active: BTreeSet<(Reverse<i32>, u64, String)>,
    active_keys: HashMap<String, (Reverse<i32>, u64)>,
    backoff: HashMap<String, Waiting>,
    unschedulable: HashMap<String, Waiting>,
    attempts: HashMap<String, u32>,
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Number of pods in any sub-queue.
    pub fn len(&self) -> usize {
        self.active.len() + self.backoff.len() + self.unschedulable.len()
    }

    /// Whether no pod is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds (or re-adds after an update) a pod that needs a node: it becomes ready at once.
    pub fn add(&mut self, key: &str, priority: i32) {
        self.backoff.remove(key);
        self.unschedulable.remove(key);
        if let Some(old) = self.active_keys.remove(key) {
            self.active.remove(&(old.0, old.1, key.to_string()));
        }
        self.push_active(key.to_string(), priority);
    }

    fn push_active(&mut self, key: String, priority: i32) {
        self.sequence += 1;
        let entry = (Reverse(priority), self.sequence);
        self.active_keys.insert(key.clone(), entry);
        self.active.insert((entry.0, entry.1, key));
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn remove(&mut self, key: &str) {
        if let Some(old) = self.active_keys.remove(key) {
            self.active.remove(&(old.0, old.1, key.to_string()));
        }
        self.backoff.remove(key);
        self.unschedulable.remove(key);
        self.attempts.remove(key);
    }

    /// The next pod to try: the highest-priority, oldest ready pod.
    pub fn pop(&mut self, now: Instant) -> Option<String> {
        self.flush(now);
        let first = self.active.pop_first()?;
        self.active_keys.remove(&first.2);
        Some(first.2)
    }

    /// The pod was bound: forget its attempts.
    pub fn done(&mut self, key: &str) {
        self.attempts.remove(key);
    }

    /// The pod fits nowhere: park it until the cluster changes.
    pub fn unschedulable(&mut self, key: &str, priority: i32, now: Instant) {
        let attempts = self.bump(key);
        self.unschedulable.insert(
            key.to_string(),
            Waiting {
                priority,
                attempts,
                since: now,
            },
        );
    }

    /// Scheduling or binding failed for another reason: retry after a backoff.
    pub fn retry_later(&mut self, key: &str, priority: i32, now: Instant) {
        let attempts = self.bump(key);
        self.backoff.insert(
            key.to_string(),
            Waiting {
                priority,
                attempts,
                since: now,
            },
        );
    }

    fn bump(&mut self, key: &str) -> u32 {
        let n = self.attempts.entry(key.to_string()).or_default();
        *n += 1;
        *n
    }

    /// Backoff for the given number of attempts: initial × 2^(attempts−1), capped.
    pub fn backoff_for(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.config
            .initial_backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    /// A node, pod or other object changed: every unschedulable pod gets another chance (after its
    /// backoff, if that has not passed yet).
    pub fn cluster_changed(&mut self, now: Instant) {
        for (key, waiting) in std::mem::take(&mut self.unschedulable) {
            if now >= waiting.since + self.backoff_for(waiting.attempts) {
                self.push_active(key, waiting.priority);
            } else {
                self.backoff.insert(key, waiting);
            }
        }
    }

    /// Moves pods whose backoff passed, and unschedulable pods past the timeout, to active.
    pub fn flush(&mut self, now: Instant) {
        let ready: Vec<String> = self
            .backoff
            .iter()
            .filter(|(_, w)| now >= w.since + self.backoff_for(w.attempts))
            .map(|(k, _)| k.clone())
            .collect();
        for key in ready {
            if let Some(w) = self.backoff.remove(&key) {
                self.push_active(key, w.priority);
            }
        }
        let timeout = self.config.unschedulable_timeout;
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|(_, w)| now >= w.since + timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(w) = self.unschedulable.remove(&key) {
                self.push_active(key, w.priority);
            }
        }
    }

    /// When the next backed-off or timed-out pod becomes ready, if any.
    pub fn next_ready_at(&self) -> Option<Instant> {
        let backoff = self
            .backoff
            .values()
            .map(|w| w.since + self.backoff_for(w.attempts));
        let stale = self
            .unschedulable
            .values()
            .map(|w| w.since + self.config.unschedulable_timeout);
        backoff.chain(stale).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_priority_pods_pop_first_then_oldest() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        let now = Instant::now();
        q.add("ns/low", 0);
        q.add("ns/high", 100);
        q.add("ns/low2", 0);
        assert_eq!(q.pop(now).as_deref(), Some("ns/high"));
        assert_eq!(q.pop(now).as_deref(), Some("ns/low"));
        assert_eq!(q.pop(now).as_deref(), Some("ns/low2"));
        assert_eq!(q.pop(now), None);
    }

    #[test]
    fn unschedulable_pods_wait_for_a_cluster_change() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        let t0 = Instant::now();
        q.add("ns/p", 0);
        let key = q.pop(t0).unwrap();
        q.unschedulable(&key, 0, t0);
        assert_eq!(
            q.pop(t0 + Duration::from_secs(30)),
            None,
            "no change, no retry"
        );
        q.cluster_changed(t0 + Duration::from_secs(30));
        assert_eq!(q.pop(t0 + Duration::from_secs(30)).as_deref(), Some("ns/p"));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        let durations: Vec<u64> = (1..=6).map(|n| q.backoff_for(n).as_secs()).collect();
        assert_eq!(durations, [1, 2, 4, 8, 10, 10]);
        let t0 = Instant::now();
        q.retry_later("ns/p", 0, t0);
        q.retry_later("ns/p", 0, t0); // second failure: 2 s
        assert_eq!(q.pop(t0 + Duration::from_millis(1500)), None);
        assert_eq!(q.pop(t0 + Duration::from_secs(2)).as_deref(), Some("ns/p"));
    }

    #[test]
    fn unschedulable_pods_are_retried_after_the_timeout_anyway() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        let t0 = Instant::now();
        q.unschedulable("ns/p", 0, t0);
        assert_eq!(q.next_ready_at(), Some(t0 + Duration::from_secs(300)));
        assert_eq!(
            q.pop(t0 + Duration::from_secs(301)).as_deref(),
            Some("ns/p")
        );
    }
}
