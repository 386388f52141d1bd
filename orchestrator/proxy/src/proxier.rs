//! The running proxy: watches Services, EndpointSlices and Nodes into reflector stores and, after
//! changes (debounced) or every sync period, loads the rules and syncs the node routes.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{select_all, BoxStream};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};

use crate::exec::{CommandRunner, Runner};
use crate::model::{service_ports, ServicePortInfo};
use crate::routes::NodeRoute;
use crate::rules::{NodeContext, Ruleset};
use crate::{conntrack, netfilter, routes, sysctl, Error, ProxyConfig, Result};

/// How long to wait before retrying a failed sync.
const RETRY: Duration = Duration::from_secs(1);

/// Which watch an event came from, and whether it completed a (re)list.
type Tick = (&'static str, bool);

fn watch_kind<K>(
    client: &Client,
    store: reflector::store::Writer<K>,
) -> BoxStream<'static, Result<Tick, String>>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let kind = std::any::type_name::<K>()
        .rsplit("::")
        .next()
        .unwrap_or("object");
    let api: Api<K> = Api::all(client.clone());
    reflector::reflector(store, watcher(api, watcher::Config::default()))
        .default_backoff()
        .map(move |event| match event {
            Ok(Event::InitDone) => Ok((kind, true)),
            Ok(_) => Ok((kind, false)),
            Err(error) => Err(format!("{kind} watch: {error}")),
        })
        .boxed()
}

/// Runs the proxy until `shutdown` completes. Rules stay in place when it returns (traffic keeps
/// flowing across a restart); [`crate::cleanup`] removes them.
pub async fn run(
    client: Client,
    config: ProxyConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let runner: Arc<dyn Runner> = Arc::new(CommandRunner::new(config.command_prefix.clone()));
    run_with(client, config, runner, shutdown).await
}

/// [`run`] with a chosen [`Runner`].
pub async fn run_with(
    client: Client,
    config: ProxyConfig,
    runner: Arc<dyn Runner>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    if config.node_name.is_empty() {
        return Err(Error::Config {
            field: "node_name",
            value: String::new(),
            reason: "the proxy needs the name of the node it runs on".into(),
        });
    }
    let problems = {
        let runner = runner.clone();
        tokio::task::spawn_blocking(move || sysctl::ensure(runner.as_ref()))
            .await
            .unwrap_or_default()
    };
    for problem in &problems {
        tracing::warn!(node = %config.node_name, key = %problem.key, reason = %problem.reason, "sysctl not set");
    }

    let (services, services_writer) = reflector::store::<Service>();
    let (slices, slices_writer) = reflector::store::<EndpointSlice>();
    let (nodes, nodes_writer) = reflector::store::<Node>();
    let mut streams = vec![
        watch_kind(&client, services_writer),
        watch_kind(&client, slices_writer),
    ];
    let mut needed = 2;
    if config.manage_routes {
        streams.push(watch_kind(&client, nodes_writer));
        needed += 1;
    }
    let mut events = select_all(streams);
    let node = NodeContext {
        node_name: config.node_name.clone(),
        cluster_cidr: config.cluster_cidr,
    };

    tokio::pin!(shutdown);
    let mut listed: BTreeSet<&'static str> = BTreeSet::new();
    let mut dirty = true;
    let mut last_sync: Option<Instant> = None;
    let mut applied: Option<Desired> = None;
    let mut failed = false;
    loop {
        let ready = listed.len() >= needed;
        let now = Instant::now();
        let wait = if !ready {
            Duration::from_secs(3600)
        } else {
            let gap = if failed {
                RETRY.max(config.min_sync_interval)
            } else {
                config.min_sync_interval
            };
            let next_allowed = last_sync.map_or(now, |t| t + gap);
            let next_full = last_sync.map_or(now, |t| t + config.sync_period);
            // Changes wait for the debounce gap; a full resync is due every sync period.
            let due = if dirty {
                next_allowed
            } else {
                next_full.max(next_allowed)
            };
            due.saturating_duration_since(now)
        };
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!(node = %config.node_name, "service proxy stopping");
                return Ok(());
            }
            event = events.next() => match event {
                None => return Err(Error::Watch { kind: "Service/EndpointSlice/Node", reason: "the watch streams ended".into() }),
                Some(Ok((kind, init_done))) => {
                    dirty = true;
                    if init_done {
                        listed.insert(kind);
                    }
                }
                Some(Err(error)) => tracing::warn!(node = %config.node_name, %error, "watch failed; retrying"),
            },
            () = tokio::time::sleep(wait), if ready => {
                let periodic = last_sync.is_none_or(|t| t.elapsed() >= config.sync_period);
                if !dirty && !periodic {
                    continue;
                }
                let want = desired(&config, &node, &services, &slices, &nodes);
                dirty = false;
                if !periodic && !failed && applied.as_ref() == Some(&want) {
                    continue; // e.g. a Node heartbeat: nothing the rules or routes use changed
                }
                let started = Instant::now();
                let previous = applied.as_ref().map(|a| a.ports.clone());
                let result = apply(runner.clone(), want.clone(), previous).await;
                last_sync = Some(Instant::now());
                match result {
                    Ok(()) => {
                        failed = false;
                        applied = Some(want);
                        tracing::debug!(node = %config.node_name, periodic, took = ?started.elapsed(), "proxy rules synced");
                    }
                    Err(error) => {
                        failed = true;
                        dirty = true;
                        tracing::warn!(node = %config.node_name, %error, "proxy sync failed; retrying");
                    }
                }
            }
        }
    }
}

fn snapshot<K: Clone + kube::Resource<DynamicType = ()>>(store: &Store<K>) -> Vec<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    store.state().iter().map(|o| o.as_ref().clone()).collect()
}

/// What one sync programs; equal inputs need no sync until the next periodic one.
#[derive(Debug, Clone, PartialEq)]
struct Desired {
    ports: Vec<ServicePortInfo>,
    rules: Ruleset,
    routes: Option<Vec<NodeRoute>>,
}

fn desired(
    config: &ProxyConfig,
    node: &NodeContext,
    services: &Store<Service>,
    slices: &Store<EndpointSlice>,
    nodes: &Store<Node>,
) -> Desired {
    let ports = service_ports(&snapshot(services), &snapshot(slices));
    let rules = Ruleset::build(&ports, node);
    let routes = config.manage_routes.then(|| {
        let mut routes = routes::candidates(&snapshot(nodes), &config.node_name);
        // Never route through ourselves, whatever name a Node with our address has.
        routes.retain(|r| !config.node_ips.contains(&r.via));
        routes
    });
    Desired {
        ports,
        rules,
        routes,
    }
}

/// Applies `desired`; with the `previous` state applied, clears the UDP flows it made stale.
async fn apply(
    runner: Arc<dyn Runner>,
    desired: Desired,
    previous: Option<Vec<ServicePortInfo>>,
) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        let rules = netfilter::apply(runner.as_ref(), &desired.rules);
        // After a restart there is no previous state: live flows are left alone.
        if let (Ok(()), Some(previous)) = (&rules, &previous) {
            let flows = conntrack::stale_flows(previous, &desired.ports);
            conntrack::clear(runner.as_ref(), &flows);
        }
        let routes = match desired.routes {
            Some(routes) => routes::sync_routes(runner.as_ref(), routes).map(|_| ()),
            None => Ok(()),
        };
        rules.and(routes)
    })
    .await
    .map_err(|error| Error::Command {
        command: "proxy sync".into(),
        output: error.to_string(),
    })?
}
