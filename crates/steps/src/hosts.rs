//! Bounded per-host parallelism that keeps every host's error.

use std::fmt;
use std::future::Future;

use futures_util::stream::{self, StreamExt};

use crate::{error_chain, Ctx, Error, Result, StepError};

/// One host's failure inside [`for_each_host`].
#[derive(Debug)]
pub struct HostError {
    /// The host, as its `Display` rendered it.
    pub host: String,
    /// What went wrong there.
    pub source: StepError,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.host, error_chain(&*self.source))
    }
}

impl std::error::Error for HostError {}

/// Every host that failed in one [`for_each_host`] call, in the order the hosts were given.
///
/// Displays as a header plus one `host: error` line per failed host.
#[derive(Debug)]
pub struct HostErrors {
    /// How many hosts were worked on.
    pub total: usize,
    /// The failures, in host order.
    pub errors: Vec<HostError>,
}

impl fmt::Display for HostErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} hosts failed:", self.errors.len(), self.total)?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HostErrors {}

/// Runs `work` for every host, at most `limit` at once (a `limit` of 0 counts as 1), and returns
/// the outputs in host order, or every host's error.
///
/// All hosts are attempted even when some fail. Each finished host is reported as progress.
/// Under dry-run hosts run one at a time, in order, so the plan is deterministic.
/// Cancellation stops all in-flight work and returns [`Error::Cancelled`].
pub async fn for_each_host<H, T, E, F, Fut>(
    ctx: &Ctx,
    hosts: impl IntoIterator<Item = H>,
    limit: usize,
    work: F,
) -> Result<Vec<T>>
where
    H: fmt::Display,
    F: Fn(H) -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: Into<StepError>,
{
    let hosts: Vec<H> = hosts.into_iter().collect();
    let total = hosts.len();
    let limit = if ctx.is_dry_run() { 1 } else { limit.max(1) };
    let work = &work;
    let mut finished = stream::iter(hosts.into_iter().enumerate().map(|(index, host)| {
        let name = host.to_string();
        async move { (index, name, work(host).await) }
    }))
    .buffer_unordered(limit);

    let mut outputs: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut errors: Vec<(usize, HostError)> = Vec::new();
    let mut done = 0;
    loop {
        let next = tokio::select! {
            biased;
            () = ctx.cancellation().cancelled() => {
                return Err(Error::Cancelled { operation: format!("working on {total} hosts") });
            }
            next = finished.next() => next,
        };
        let Some((index, host, result)) = next else {
            break;
        };
        done += 1;
        match result {
            Ok(output) => {
                ctx.progress(format!("{host}: done ({done}/{total})"));
                outputs[index] = Some(output);
            }
            Err(error) => {
                let source = error.into();
                tracing::debug!(host, error = %error_chain(&*source), "host failed");
                ctx.progress(format!("{host}: failed ({done}/{total})"));
                errors.push((index, HostError { host, source }));
            }
        }
    }

    if errors.is_empty() {
        return Ok(outputs.into_iter().flatten().collect());
    }
    errors.sort_by_key(|(index, _)| *index);
    Err(Error::Hosts(HostErrors {
        total,
        errors: errors.into_iter().map(|(_, error)| error).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_list_one_host_per_line() {
        let errors = HostErrors {
            total: 3,
            errors: vec![
                HostError {
                    host: "node-1".into(),
                    source: "connection refused".into(),
                },
                HostError {
                    host: "node-3".into(),
                    source: "permission denied (publickey)".into(),
                },
            ],
        };
        assert_eq!(
            errors.to_string(),
            "2 of 3 hosts failed:\n  node-1: connection refused\n  node-3: permission denied (publickey)"
        );
    }
}
