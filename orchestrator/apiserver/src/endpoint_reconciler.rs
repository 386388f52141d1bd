//! The `kubernetes` Service's endpoints with several API servers: upstream's "lease" endpoint
//! reconciler. Each server keeps a Lease `kube-system/apiserver-<address>-<port>` (labelled
//! `k8s.io/component=kube-apiserver`, its address in the `clusterd.io/endpoint` annotation)
//! renewed every third of its duration, and rewrites the endpoints to the addresses of every
//! unexpired lease. A server that dies drops out once its lease expires; one that shuts down
//! cleanly removes its lease at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::handlers::now_timestamp;
use crate::objects::encode;
use crate::storage::ObjectStore;

/// The label every API server lease carries (and the value), as upstream.
pub const COMPONENT_LABEL: (&str, &str) = ("k8s.io/component", "kube-apiserver");
/// The annotation holding the `ip:port` a server lease advertises.
pub const ENDPOINT_ANNOTATION: &str = "clusterd.io/endpoint";
/// How long a server stays in the endpoints without renewing its lease (upstream's 15 s TTL).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

const LEASES_PREFIX: &str = "/registry/coordination.k8s.io/leases/kube-system/";

/// Keeps this server's lease and the `kubernetes` Service's endpoints current.
#[derive(Debug, Clone)]
pub struct EndpointReconciler {
    store: ObjectStore,
    endpoint: SocketAddr,
    identity: String,
    lease_duration: Duration,
}

impl EndpointReconciler {
    /// A reconciler for the server reachable at `endpoint`; `identity` names it in the lease's
    /// `holderIdentity`. Durations below one second count as one second.
    pub fn new(
        store: ObjectStore,
        endpoint: SocketAddr,
        identity: impl Into<String>,
        lease_duration: Duration,
    ) -> Self {
        Self {
            store,
            endpoint,
            identity: identity.into(),
            lease_duration: lease_duration.max(Duration::from_secs(1)),
        }
    }

    /// The name of this server's lease in `kube-system`.
    pub fn lease_name(&self) -> String {
        lease_name(self.endpoint)
    }

    /// How often [`run`](Self::run) renews: a third of the lease duration.
    pub fn renew_interval(&self) -> Duration {
        self.lease_duration / 3
    }

    /// Renews this server's lease and publishes the endpoints of every live server; returns them.
    pub async fn reconcile(&self) -> Result<Vec<SocketAddr>> {
        self.renew().await?;
        let live = self.live_servers().await?;
        crate::seed::publish_endpoints(&self.store, &live).await?;
        Ok(live)
    }

    /// Reconciles every [`renew_interval`](Self::renew_interval) until dropped, logging failures.
    pub async fn run(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.renew_interval()).await;
            if let Err(error) = self.reconcile().await {
                tracing::warn!(endpoint = %self.endpoint, %error, "could not renew this API server's endpoint lease");
            }
        }
    }

    /// Deletes this server's lease and publishes the endpoints of the others (at shutdown).
    pub async fn remove(&self) -> Result<()> {
        let key = format!("{LEASES_PREFIX}{}", self.lease_name());
        match self.store.delete(&key, None).await {
            Ok(_) | Err(clusterd_store::Error::NotFound { .. }) => {}
            Err(source) => {
                return Err(Error::Store {
                    operation: format!("delete {key}"),
                    source,
                })
            }
        }
        let live: Vec<SocketAddr> = self
            .live_servers()
            .await?
            .into_iter()
            .filter(|server| *server != self.endpoint)
            .collect();
        crate::seed::publish_endpoints(&self.store, &live).await
    }

    async fn live_servers(&self) -> Result<Vec<SocketAddr>> {
        let page = self
            .store
            .list(LEASES_PREFIX, clusterd_store::ListOptions::latest())
            .await
            .map_err(|source| Error::Store {
                operation: format!("list {LEASES_PREFIX}"),
                source,
            })?;
        let leases: Vec<Value> = page
            .items
            .iter()
            .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
            .collect();
        Ok(live_servers(&leases, OffsetDateTime::now_utc()))
    }

    async fn renew(&self) -> Result<()> {
        let name = self.lease_name();
        let key = format!("{LEASES_PREFIX}{name}");
        let store_error = |source| Error::Store {
            operation: format!("renew {key}"),
            source,
        };
        let now = micro_time(OffsetDateTime::now_utc());
        let seconds = self.lease_duration.as_secs().max(1);
        let Some(current) = self.store.get(&key).await.map_err(store_error)? else {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": name,
                    "namespace": "kube-system",
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": now_timestamp(),
                    "labels": {COMPONENT_LABEL.0: COMPONENT_LABEL.1},
                    "annotations": {ENDPOINT_ANNOTATION: self.endpoint.to_string()},
                },
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": seconds,
                    "acquireTime": now,
                    "renewTime": now,
                },
            });
            return match self.store.create(&key, encode(&lease)).await {
                Ok(_) | Err(clusterd_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(source) => Err(store_error(source)),
            };
        };
        let mut lease: Value = serde_json::from_slice(&current.value).unwrap_or_else(|_| json!({}));
        if lease["spec"]["holderIdentity"] != json!(self.identity) {
            lease["spec"]["acquireTime"] = json!(now);
        }
        lease["spec"]["holderIdentity"] = json!(self.identity);
        lease["spec"]["leaseDurationSeconds"] = json!(seconds);
        lease["spec"]["renewTime"] = json!(now);
        lease["metadata"]["labels"][COMPONENT_LABEL.0] = json!(COMPONENT_LABEL.1);
        lease["metadata"]["annotations"][ENDPOINT_ANNOTATION] = json!(self.endpoint.to_string());
        match self
            .store
            .update(&key, encode(&lease), current.mod_revision)
            .await
        {
            // A lost race means someone renewed it a moment ago; the next round tries again.
            Ok(_) | Err(clusterd_store::Error::Conflict { .. }) => Ok(()),
            Err(source) => Err(store_error(source)),
        }
    }
}

/// The lease name of the server at `endpoint`: `apiserver-<address>-<port>` (IPv6 colons as `-`).
pub fn lease_name(endpoint: SocketAddr) -> String {
    let address = endpoint.ip().to_string().replace(':', "-");
    format!("apiserver-{address}-{}", endpoint.port())
}

/// The endpoints of the API servers whose leases are unexpired at `now`, sorted; leases without
/// the component label or a readable endpoint annotation are ignored.
pub fn live_servers(leases: &[Value], now: OffsetDateTime) -> Vec<SocketAddr> {
    let mut live: Vec<SocketAddr> = leases
        .iter()
        .filter(|lease| lease["metadata"]["labels"][COMPONENT_LABEL.0] == COMPONENT_LABEL.1)
        .filter(|lease| {
            let spec = &lease["spec"];
            let renewed = spec["renewTime"]
                .as_str()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            let seconds = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
            renewed.is_some_and(|renewed| renewed + time::Duration::seconds(seconds) > now)
        })
        .filter_map(|lease| {
            lease["metadata"]["annotations"][ENDPOINT_ANNOTATION]
                .as_str()?
                .parse()
                .ok()
        })
        .collect();
    live.sort();
    live.dedup();
    live
}

/// A `MicroTime` as upstream writes it: RFC 3339 in UTC with six fractional digits.
fn micro_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(endpoint: &str, renewed: OffsetDateTime, seconds: i64) -> Value {
        json!({
            "metadata": {
                "labels": {COMPONENT_LABEL.0: COMPONENT_LABEL.1},
                "annotations": {ENDPOINT_ANNOTATION: endpoint},
            },
            "spec": {"renewTime": micro_time(renewed), "leaseDurationSeconds": seconds},
        })
    }

    #[test]
    fn only_unexpired_labelled_leases_are_live_servers() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mut unlabelled = lease("10.0.0.4:6443", now, 15);
        unlabelled["metadata"]["labels"] = json!({});
        let leases = [
            lease("10.0.0.2:6443", now - time::Duration::seconds(3), 15),
            lease(
                "10.0.0.1:6443",
                now - time::Duration::milliseconds(14_900),
                15,
            ),
            lease("10.0.0.3:6443", now - time::Duration::seconds(15), 15),
            unlabelled,
            lease("not an address", now, 15),
        ];
        let live = live_servers(&leases, now);
        assert_eq!(
            live,
            vec![
                "10.0.0.1:6443".parse().unwrap(),
                "10.0.0.2:6443".parse().unwrap()
            ]
        );
    }

    #[test]
    fn micro_time_round_trips_through_rfc3339() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap();
        let text = micro_time(at);
        assert_eq!(text, "2027-01-15T08:00:00.123456Z");
        let parsed = OffsetDateTime::parse(&text, &Rfc3339).unwrap();
        assert_eq!(parsed.unix_timestamp_nanos(), 1_800_000_000_123_456_000);
    }

    #[test]
    fn lease_names_are_valid_object_names() {
        assert_eq!(
            lease_name("198.18.0.11:6443".parse().unwrap()),
            "apiserver-198.18.0.11-6443"
        );
        assert_eq!(
            lease_name("[fd00::1]:6443".parse().unwrap()),
            "apiserver-fd00--1-6443"
        );
    }
}
