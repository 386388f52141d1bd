//! The background compactor against both backends.

mod support;

use std::time::{Duration, Instant};

use clusterd_store::{CompactionPolicy, Compactor, Error, ListOptions, Store};
use support::{value, EtcdFixture, Fixture, SqliteFixture};

async fn compactor_keeps_only_the_configured_window<F: Fixture>() {
    let Some(fixture) = F::start().await else {
        return;
    };
    let store = fixture.store().clone();
    let first = store.create("/cmp/k0", value("0")).await.unwrap();
    for i in 1..50 {
        store
            .create(&format!("/cmp/k{i}"), value("x"))
            .await
            .unwrap();
    }
    let current = store.current_revision().await.unwrap();
    let compactor = Compactor::spawn(
        store.clone(),
        CompactionPolicy {
            interval: Duration::from_millis(50),
            keep_revisions: 10,
            keep_for: Duration::ZERO,
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store
            .list("/cmp/", ListOptions::latest().at_revision(first))
            .await
        {
            Err(Error::Compacted { compacted, .. }) => {
                assert_eq!(compacted, current - 10, "the last 10 revisions are kept");
                break;
            }
            Ok(_) => assert!(
                Instant::now() < deadline,
                "history was not compacted within 10s"
            ),
            Err(other) => panic!("unexpected {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let window = store
        .list("/cmp/", ListOptions::latest().at_revision(current - 10))
        .await
        .unwrap();
    assert_eq!(window.items.len(), 40);
    assert_eq!(store.count("/cmp/").await.unwrap(), 50);
    compactor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactor_keeps_only_the_configured_window_on_sqlite() {
    compactor_keeps_only_the_configured_window::<SqliteFixture>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactor_keeps_only_the_configured_window_on_etcd() {
    compactor_keeps_only_the_configured_window::<EtcdFixture>().await;
}
