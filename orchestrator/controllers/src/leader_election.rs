//! Leader election on a coordination.k8s.io/v1 Lease (`kube-system/clusterd-controllers` for the
//! controllers, `kube-system/clusterd-scheduler` for the scheduler), with upstream's timings: 15 s
//! lease, 10 s renew deadline, 2 s retry. The decision is pure ([`decide`]); [`elect`] loops on it
//! against the API and [`run_while_leading`] runs a component only while it holds the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use tokio::sync::watch;

use crate::{Error, Result};

/// Where the lease lives and how long it lasts.
#[derive(Debug, Clone)]
pub struct LeaderElectionConfig {
    /// Lease namespace (`kube-system`).
    pub namespace: String,
    /// Lease name (`clusterd-controllers`).
    pub name: String,
    /// How long a lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// The leader gives up if it cannot renew for this long.
    pub renew_deadline: Duration,
    /// Pause between attempts.
    pub retry_period: Duration,
}

/// The controllers' lease name (upstream: `kube-controller-manager`).
pub const CONTROLLERS_LEASE: &str = "clusterd-controllers";
/// The scheduler's lease name (upstream: `kube-scheduler`).
pub const SCHEDULER_LEASE: &str = "clusterd-scheduler";

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        Self {
            namespace: "kube-system".into(),
            name: CONTROLLERS_LEASE.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaderElectionConfig {
    /// The same timings for the lease `kube-system/<name>`.
    pub fn for_lease(&self, name: &str) -> Self {
        Self {
            name: name.into(),
            ..self.clone()
        }
    }

    /// Checks upstream's rules: a lease of at least one second (leases count whole seconds),
    /// longer than the renew deadline, which is longer than the retry period.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, value: Duration, reason: &str| Error::Config {
            field,
            value: format!("{value:?}"),
            reason: reason.into(),
        };
        if self.lease_duration < Duration::from_secs(1) {
            return Err(invalid(
                "leader-elect-lease-duration",
                self.lease_duration,
                "must be at least 1s",
            ));
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(invalid(
                "leader-elect-renew-deadline",
                self.renew_deadline,
                "must be shorter than the lease duration",
            ));
        }
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return Err(invalid(
                "leader-elect-retry-period",
                self.retry_period,
                "must be above zero and shorter than the renew deadline",
            ));
        }
        Ok(())
    }
}

/// What to do with the lease this round.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseAction {
    /// No lease exists: create it holding it ourselves.
    Create(Lease),
    /// We hold it (renew) or it expired (take over): replace it with this.
    Update(Lease),
    /// Someone else holds a valid lease.
    Follow {
        /// The current holder.
        holder: String,
    },
}

/// Decides, from the current lease, whether we create, renew, take over or follow.
pub fn decide(
    current: Option<&Lease>,
    identity: &str,
    now: Timestamp,
    config: &LeaderElectionConfig,
) -> LeaseAction {
    let duration_seconds = config.lease_duration.as_secs() as i32;
    let fresh_spec = |transitions: i32| LeaseSpec {
        holder_identity: Some(identity.into()),
        lease_duration_seconds: Some(duration_seconds),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(lease) = current else {
        let metadata = ObjectMeta {
            name: Some(config.name.clone()),
            namespace: Some(config.namespace.clone()),
            ..ObjectMeta::default()
        };
        return LeaseAction::Create(Lease {
            metadata,
            spec: Some(fresh_spec(0)),
        });
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let mut next = lease.clone();
    if holder == identity {
        next.spec = Some(LeaseSpec {
            renew_time: Some(MicroTime(now)),
            lease_duration_seconds: Some(duration_seconds),
            ..spec
        });
        return LeaseAction::Update(next);
    }
    let valid_for = i64::from(spec.lease_duration_seconds.unwrap_or(duration_seconds));
    let renewed = spec
        .renew_time
        .as_ref()
        .map(|t| t.0.as_second())
        .unwrap_or(0);
    if !holder.is_empty() && renewed + valid_for > now.as_second() {
        return LeaseAction::Follow { holder };
    }
    next.spec = Some(fresh_spec(spec.lease_transitions.unwrap_or(0) + 1));
    LeaseAction::Update(next)
}

/// Keeps trying to lead; publishes `true` on `leading` while we hold the lease, `false` once a
/// renewal has failed for longer than the renew deadline. Runs until the receiver is dropped.
pub async fn elect(
    client: Client,
    identity: String,
    config: LeaderElectionConfig,
    leading: watch::Sender<bool>,
) -> Result<()> {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let mut last_renewed: Option<std::time::Instant> = None;
    loop {
        if leading.is_closed() {
            return Ok(());
        }
        let outcome = try_once(&api, &identity, &config).await;
        match outcome {
            Ok(true) => {
                if !*leading.borrow() {
                    tracing::info!(identity = %identity, lease = %config.name, "became leader");
                }
                last_renewed = Some(std::time::Instant::now());
                let _ = leading.send(true);
            }
            Ok(false) => {
                last_renewed = None;
                let _ = leading.send(false);
            }
            Err(error) => {
                tracing::warn!(%error, "leader election round failed");
                if last_renewed.is_some_and(|t| t.elapsed() > config.renew_deadline) {
                    tracing::warn!(identity = %identity, "lost leadership: renew deadline passed");
                    last_renewed = None;
                    let _ = leading.send(false);
                }
            }
        }
        tokio::time::sleep(config.retry_period).await;
    }
}

/// Runs `work()` only while `identity` holds the lease of `config`: it starts once the lease is
/// won, is stopped (its future dropped) when the lease is lost, and starts again on re-election.
/// Work that ends by itself while we lead is started again after the retry period (a leader must
/// not hold the lease without doing the work). Returns the first error of `work`; the election
/// stops when this future ends or is dropped.
pub async fn run_while_leading<F, Fut, E>(
    client: Client,
    identity: String,
    config: LeaderElectionConfig,
    mut work: F,
) -> std::result::Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), E>>,
{
    let (tx, mut leading) = watch::channel(false);
    let (lease, retry_period) = (config.name.clone(), config.retry_period);
    let _elector = AbortOnDrop(tokio::spawn(elect(client, identity.clone(), config, tx)));
    loop {
        if leading.wait_for(|l| *l).await.is_err() {
            return Ok(());
        }
        tracing::info!(identity = %identity, %lease, "leading: starting");
        let ended = tokio::select! {
            result = work() => {
                result?;
                true
            }
            _ = leading.wait_for(|l| !*l) => false,
        };
        if ended {
            tracing::warn!(identity = %identity, %lease, "ended by itself while leading; starting again");
            tokio::time::sleep(retry_period).await;
        } else {
            tracing::warn!(identity = %identity, %lease, "lost the lease: stopped");
        }
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One round: true when we hold the lease afterwards.
async fn try_once(api: &Api<Lease>, identity: &str, config: &LeaderElectionConfig) -> Result<bool> {
    let operation = || {
        format!(
            "leader election on lease {}/{}",
            config.namespace, config.name
        )
    };
    let current = api
        .get_opt(&config.name)
        .await
        .map_err(|source| Error::Api {
            operation: operation(),
            source,
        })?;
    match decide(current.as_ref(), identity, Timestamp::now(), config) {
        LeaseAction::Follow { .. } => Ok(false),
        LeaseAction::Create(lease) => match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(Error::Api {
                operation: operation(),
                source,
            }),
        },
        // resourceVersion from the read makes this a compare-and-swap.
        LeaseAction::Update(lease) => match api
            .replace(&config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(Error::Api {
                operation: operation(),
                source,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn held_by(holder: &str, renewed: i64) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some("clusterd-controllers".into()),
                namespace: Some("kube-system".into()),
                resource_version: Some("7".into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(at(renewed))),
                lease_transitions: Some(2),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn no_lease_means_we_create_and_hold_it() {
        let LeaseAction::Create(lease) = decide(None, "a", at(0), &LeaderElectionConfig::default())
        else {
            panic!("expected create")
        };
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(lease.metadata.namespace.as_deref(), Some("kube-system"));
    }

    #[test]
    fn a_valid_lease_of_another_server_is_followed() {
        let action = decide(
            Some(&held_by("b", 0)),
            "a",
            at(14),
            &LeaderElectionConfig::default(),
        );
        assert_eq!(action, LeaseAction::Follow { holder: "b".into() });
    }

    #[test]
    fn an_expired_lease_is_taken_over_with_one_more_transition() {
        let LeaseAction::Update(lease) = decide(
            Some(&held_by("b", 0)),
            "a",
            at(16),
            &LeaderElectionConfig::default(),
        ) else {
            panic!("expected takeover")
        };
        let spec = lease.spec.unwrap();
        assert_eq!(
            (spec.holder_identity.as_deref(), spec.lease_transitions),
            (Some("a"), Some(3))
        );
        assert_eq!(
            lease.metadata.resource_version.as_deref(),
            Some("7"),
            "the swap is conditional on what we read"
        );
    }

    #[test]
    fn timings_must_nest_like_upstream() {
        let ok = LeaderElectionConfig {
            lease_duration: Duration::from_secs(2),
            renew_deadline: Duration::from_millis(1500),
            retry_period: Duration::from_millis(250),
            ..LeaderElectionConfig::default()
        };
        ok.validate().unwrap();
        assert_eq!(ok.for_lease(SCHEDULER_LEASE).name, "clusterd-scheduler");
        let short = LeaderElectionConfig {
            lease_duration: Duration::from_millis(500),
            ..ok.clone()
        };
        assert!(short
            .validate()
            .unwrap_err()
            .to_string()
            .contains("leader-elect-lease-duration"));
        let slow_retry = LeaderElectionConfig {
            retry_period: Duration::from_secs(2),
            ..ok
        };
        assert!(slow_retry
            .validate()
            .unwrap_err()
            .to_string()
            .contains("leader-elect-retry-period"));
    }

    #[test]
    fn the_holder_renews_without_a_transition() {
        let LeaseAction::Update(lease) = decide(
            Some(&held_by("a", 0)),
            "a",
            at(10),
            &LeaderElectionConfig::default(),
        ) else {
            panic!("expected renew")
        };
        let spec = lease.spec.unwrap();
        assert_eq!(spec.lease_transitions, Some(2));
        assert_eq!(spec.renew_time.unwrap().0, at(10));
    }
}
