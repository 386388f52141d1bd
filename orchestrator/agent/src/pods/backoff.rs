//! Back-off between restarts and image pulls: the first retry is immediate, then the delay
//! starts at `initial` and doubles up to `max`; it resets after a container ran 10 minutes.

use std::time::Duration;

use tokio::time::Instant;

/// How long a container must run before its back-off is forgotten.
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// One back-off sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Option<Duration>,
    until: Option<Instant>,
}

impl Backoff {
    /// A back-off that starts at `initial` and stops growing at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            current: None,
            until: None,
        }
    }

    /// Records a failure at `now`; `ran_for` (how long the container ran) resets the sequence
    /// when it reaches [`RESET_AFTER`]. Returns the delay before the next attempt.
    pub fn failed(&mut self, now: Instant, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER {
            self.current = None;
        }
        let delay = match self.current {
            None => Duration::ZERO,
            Some(d) if d.is_zero() => self.initial,
            Some(d) => (d * 2).min(self.max),
        };
        self.current = Some(delay);
        self.until = Some(now + delay);
        delay
    }

    /// True while the next attempt must wait.
    pub fn waiting(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    /// When the next attempt may happen, if it must wait.
    pub fn until(&self) -> Option<Instant> {
        self.until
    }

    /// The delay last chosen.
    pub fn delay(&self) -> Duration {
        self.current.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_and_reset_after_a_long_run() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let now = Instant::now();
        let short = Duration::from_secs(1);
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.failed(now, short).as_secs())
            .collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert!(backoff.waiting(now + Duration::from_secs(299)));
        assert!(!backoff.waiting(now + Duration::from_secs(300)));
        assert_eq!(backoff.failed(now, RESET_AFTER), Duration::ZERO);
        assert_eq!(backoff.failed(now, short), Duration::from_secs(10));
    }
}
