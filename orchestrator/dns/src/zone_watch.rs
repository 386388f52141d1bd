//! Keeps the zone current: kube-rs reflectors over Services and EndpointSlices; every change
//! (coalesced over a few milliseconds) rebuilds the zone and publishes it to the handler.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::zone::Zone;

/// How long a burst of watch events may settle before one rebuild.
const SETTLE: Duration = Duration::from_millis(20);

fn reflect<K>(client: &Client, tasks: &mut JoinSet<()>, changed: &Arc<Notify>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let api: Api<K> = Api::all(client.clone());
    let changed = changed.clone();
    tasks.spawn(async move {
        // Only names, specs and endpoints matter: the rest is not kept (memory on every node).
        let events = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|object: &mut K| {
                let meta = object.meta_mut();
                meta.managed_fields = None;
                meta.annotations = None;
                meta.owner_references = None;
            });
        let mut stream = reflector::reflector(writer, events).boxed();
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => changed.notify_one(),
                Err(error) => tracing::warn!(%error, "dns watch failed; retrying"),
            }
        }
    });
    reader
}

/// Follows Services and EndpointSlices, publishing a new zone for `domain` after each change
/// (the first once both have listed). Runs until dropped.
pub async fn follow_zone(client: Client, domain: String, zone: watch::Sender<Option<Arc<Zone>>>) {
    let mut tasks = JoinSet::new();
    let changed = Arc::new(Notify::new());
    let services = reflect::<Service>(&client, &mut tasks, &changed);
    let slices = reflect::<EndpointSlice>(&client, &mut tasks, &changed);
    if services.wait_until_ready().await.is_err() || slices.wait_until_ready().await.is_err() {
        return;
    }
    let mut serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1);
    loop {
        let service_list = services.state();
        let slice_list = slices.state();
        let built = Zone::build(
            &domain,
            &service_list.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            &slice_list.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            serial,
        );
        if let Some(built) = built {
            if zone.borrow().is_none() {
                tracing::info!(services = service_list.len(), "cluster zone loaded");
            }
            tracing::debug!(
                services = service_list.len(),
                slices = slice_list.len(),
                "cluster zone rebuilt"
            );
            zone.send_replace(Some(Arc::new(built)));
        }
        serial = serial.wrapping_add(1);
        changed.notified().await;
        tokio::time::sleep(SETTLE).await;
    }
}
