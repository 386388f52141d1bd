//! Polling with visible progress, a timeout and cancellation.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::{error_chain, Ctx, Error, Result, StepError};

/// Polls `probe` every `interval` until it returns `Ok`, reporting
/// `Waiting for <what> (12s/5m0s)` progress (plus the last probe error) before each attempt.
///
/// Returns `Ok(Some(output))` once the probe succeeds, [`Error::WaitTimedOut`] naming `what` and
/// the last probe error after `timeout` (a probe still running at the deadline is abandoned), and
/// [`Error::Cancelled`] on cancellation. Under dry-run nothing was created to wait for, so it
/// returns `Ok(None)` without probing.
pub async fn wait_for<T, E, F, Fut>(
    ctx: &Ctx,
    what: impl fmt::Display,
    timeout: Duration,
    interval: Duration,
    mut probe: F,
) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: Into<StepError>,
{
    let what = what.to_string();
    if ctx.is_dry_run() {
        ctx.progress(format!("Would wait for {what}"));
        return Ok(None);
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let cancelled = || Error::Cancelled {
        operation: format!("waiting for {what}"),
    };
    let mut last_error: Option<String> = None;
    loop {
        ctx.progress(progress_line(
            &what,
            started.elapsed(),
            timeout,
            last_error.as_deref(),
        ));
        let attempt = tokio::select! {
            biased;
            () = ctx.cancellation().cancelled() => return Err(cancelled()),
            attempt = tokio::time::timeout_at(deadline, probe()) => attempt,
        };
        match attempt {
            Ok(Ok(output)) => return Ok(Some(output)),
            Ok(Err(error)) => {
                let error: StepError = error.into();
                last_error = Some(error_chain(&*error));
            }
            Err(_elapsed) => break,
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // The last sleep ends at the deadline, where the probe gets one final chance.
        let wake = (now + interval).min(deadline);
        tokio::select! {
            biased;
            () = ctx.cancellation().cancelled() => return Err(cancelled()),
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    Err(Error::WaitTimedOut {
        what,
        timeout,
        last_error,
    })
}

fn progress_line(what: &str, elapsed: Duration, timeout: Duration, last: Option<&str>) -> String {
    let mut line = format!(
        "Waiting for {what} ({}/{})",
        format_duration(elapsed),
        format_duration(timeout)
    );
    if let Some(error) = last {
        line.push_str(": ");
        line.push_str(error);
    }
    line
}

/// Renders a duration the way kubectl and Go do: "0s", "750ms", "12s", "5m0s", "1h2m3s"
/// (whole seconds above one second).
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 && duration.subsec_millis() > 0 {
        return format!("{}ms", duration.subsec_millis());
    }
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_like_go() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(750)), "750ms");
        assert_eq!(format_duration(Duration::from_millis(12_400)), "12s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h2m3s");
    }

    #[test]
    fn progress_line_shows_elapsed_of_timeout_and_the_last_error() {
        assert_eq!(
            progress_line(
                "control plane to be ready",
                Duration::from_secs(12),
                Duration::from_secs(300),
                None
            ),
            "Waiting for control plane to be ready (12s/5m0s)"
        );
        assert_eq!(
            progress_line(
                "node-1 to join",
                Duration::from_secs(61),
                Duration::from_secs(120),
                Some("connection refused")
            ),
            "Waiting for node-1 to join (1m1s/2m0s): connection refused"
        );
    }
}
