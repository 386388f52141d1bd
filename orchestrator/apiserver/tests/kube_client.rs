//! kube-rs (a client the server did not write) against a real in-process API server: typed CRUD,
//! the watcher with its list-then-watch and bookmarks, 410 Expired after compaction, and a CRD
//! round trip through dynamic objects.

mod support;

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::json;
use support::{kube_client, TestServer};

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

/// Runs `test` on a runtime of its own (the server has another).
fn run<F: std::future::Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

#[test]
fn the_kube_watcher_lists_then_sees_applies_and_deletes() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(&PostParams::default(), &config_map("before"))
            .await
            .unwrap();
        let mut events = watcher(api.clone(), watcher::Config::default().any_semantic()).boxed();
        let mut seen = Vec::new();
        let mut created = false;
        loop {
            let event = match tokio::time::timeout(Duration::from_secs(10), events.try_next()).await
            {
                Ok(Ok(Some(event))) => event,
                other => panic!("the watcher ended early after {seen:?}: {other:?}"),
            };
            match event {
                watcher::Event::InitApply(cm) => {
                    seen.push(format!("init {}", cm.metadata.name.unwrap()))
                }
                watcher::Event::InitDone if !created => {
                    seen.push("init done".into());
                    created = true;
                    api.create(&PostParams::default(), &config_map("after"))
                        .await
                        .unwrap();
                    api.delete("before", &Default::default()).await.unwrap();
                }
                watcher::Event::Apply(cm) => {
                    seen.push(format!("apply {}", cm.metadata.name.unwrap()))
                }
                watcher::Event::Delete(cm) => {
                    seen.push(format!("delete {}", cm.metadata.name.unwrap()));
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(
            seen,
            ["init before", "init done", "apply after", "delete before"]
        );
    });
}

#[test]
fn a_streaming_list_watcher_gets_initial_events_then_changes() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(&PostParams::default(), &config_map("early"))
            .await
            .unwrap();
        let config = watcher::Config::default().streaming_lists();
        let mut events = watcher(api.clone(), config).boxed();
        let mut seen = Vec::new();
        loop {
            let event = match tokio::time::timeout(Duration::from_secs(10), events.try_next()).await
            {
                Ok(Ok(Some(event))) => event,
                other => panic!("the watcher ended early after {seen:?}: {other:?}"),
            };
            match event {
                watcher::Event::InitApply(cm) => {
                    seen.push(format!("init {}", cm.metadata.name.unwrap()))
                }
                watcher::Event::InitDone => {
                    seen.push("init done".into());
                    api.create(&PostParams::default(), &config_map("late"))
                        .await
                        .unwrap();
                }
                watcher::Event::Apply(cm) => {
                    seen.push(format!("apply {}", cm.metadata.name.unwrap()));
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(seen, ["init early", "init done", "apply late"]);
    });
}

#[test]
fn a_watch_from_a_compacted_revision_gets_410_expired() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        for i in 0..3 {
            api.create(&PostParams::default(), &config_map(&format!("cm-{i}")))
                .await
                .unwrap();
        }
        let list = api.list(&ListParams::default()).await.unwrap();
        let revision: i64 = list.metadata.resource_version.unwrap().parse().unwrap();
        server.state.store.compact(revision).await.unwrap();
        let mut stream = api
            .watch(&WatchParams::default(), "1")
            .await
            .unwrap()
            .boxed();
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Error(status)) => {
                assert_eq!(status.code, 410);
                assert_eq!(status.reason, "Expired");
            }
            other => panic!("expected a 410 ERROR event, got {other:?}"),
        }
        let mut stream = api
            .watch(&WatchParams::default().timeout(1), &revision.to_string())
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &config_map("late"))
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
        {
            Some(WatchEvent::Added(cm)) => assert_eq!(cm.metadata.name.as_deref(), Some("late")),
            other => panic!("expected ADDED late, got {other:?}"),
        }
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "timeoutSeconds=1 ends the watch");
    });
}

#[test]
fn a_custom_resource_definition_serves_its_resources() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
            }
        }))
        .unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"));
        let widgets: Api<DynamicObject> = Api::namespaced_with(client, "default", &resource);
        let mut created = None;
        for _ in 0..50 {
            let widget = DynamicObject::new("gear", &resource).data(json!({"spec": {"teeth": 12}}));
            match widgets.create(&PostParams::default(), &widget).await {
                Ok(w) => {
                    created = Some(w);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let created = created.expect("the custom resource is served after its CRD is created");
        assert!(created.metadata.uid.is_some());
        let fetched = widgets.get("gear").await.unwrap();
        assert_eq!(fetched.data["spec"]["teeth"], 12);
        assert_eq!(
            widgets
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        let cog = DynamicObject::new("cog", &resource).data(json!({"spec": {}}));
        widgets.create(&PostParams::default(), &cog).await.unwrap();
        let deleted = widgets
            .delete_collection(&Default::default(), &ListParams::default())
            .await
            .unwrap();
        assert_eq!(
            deleted.left().map(|list| list.items.len()),
            Some(2),
            "deletecollection returns what it deleted"
        );
        assert!(widgets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty());
    });
}

#[test]
fn concurrent_patches_without_a_resource_version_all_land_and_a_stale_one_conflicts() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let created = api
            .create(&PostParams::default(), &config_map("raced"))
            .await
            .unwrap();
        let writers = (0..16).map(|i| {
            let api = api.clone();
            async move {
                let merge = json!({"data": {format!("merge-{i}"): "x"}});
                api.patch("raced", &PatchParams::default(), &Patch::Merge(&merge))
                    .await?;
                let strategic = json!({"metadata": {"labels": {format!("smp-{i}"): "y"}}});
                api.patch(
                    "raced",
                    &PatchParams::default(),
                    &Patch::Strategic(&strategic),
                )
                .await
            }
        });
        for result in futures_util::future::join_all(writers).await {
            result.expect("a patch without a resourceVersion must not conflict");
        }
        let merged = api.get("raced").await.unwrap();
        let data = merged.data.unwrap();
        let labels = merged.metadata.labels.unwrap();
        for i in 0..16 {
            assert!(
                data.contains_key(&format!("merge-{i}")),
                "merge patch {i} was lost"
            );
            assert!(
                labels.contains_key(&format!("smp-{i}")),
                "strategic patch {i} was lost"
            );
        }
        let stale = json!({"metadata": {"resourceVersion": created.metadata.resource_version},
                           "data": {"late": "z"}});
        match api
            .patch("raced", &PatchParams::default(), &Patch::Merge(&stale))
            .await
        {
            Err(kube::Error::Api(status)) => assert_eq!(status.code, 409, "{status:?}"),
            other => panic!("a patch naming a stale resourceVersion must be refused: {other:?}"),
        }
    });
}

#[test]
fn a_delete_racing_other_writers_retries_instead_of_conflicting() {
    let server = TestServer::start();
    run(async {
        let client = kube_client(&server.kubeconfig).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        for round in 0..10 {
            let name = format!("busy-{round}");
            // A finalizer makes the delete an update (deletionTimestamp), like a graceful pod's.
            let mut cm = config_map(&name);
            cm.metadata.finalizers = Some(vec!["example.com/hold".into()]);
            api.create(&PostParams::default(), &cm).await.unwrap();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let writers: Vec<_> = (0..4)
                .map(|w| {
                    let (api, name, stop) = (api.clone(), name.clone(), stop.clone());
                    tokio::spawn(async move {
                        let mut i = 0;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            let patch = json!({"data": {format!("w{w}"): i.to_string()}});
                            let _ = api
                                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                                .await;
                            i += 1;
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(20)).await;
            let deleted = api.delete(&name, &Default::default()).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for writer in writers {
                writer.await.unwrap();
            }
            deleted.unwrap_or_else(|e| panic!("round {round}: delete lost a race: {e}"));
            let marked = api.get(&name).await.unwrap();
            assert!(marked.metadata.deletion_timestamp.is_some());
        }
    });
}
