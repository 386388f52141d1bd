//! History: watches, compaction, revisions across restarts.

use std::time::Duration;

use clusterd_store::{Error, Event, KeyValue, ListOptions, Store};

use crate::support::{next_event, value, Fixture};

pub async fn watch_replays_history_then_goes_live_without_gaps_or_duplicates<F: Fixture>(
    fixture: &mut F,
) {
    let store = fixture.store().clone();
    let mut inside = Vec::new();
    for i in 0..20 {
        inside.push(
            store
                .create(&format!("/w/in/early{i}"), value("e"))
                .await
                .unwrap(),
        );
        store
            .create(&format!("/w/out/early{i}"), value("e"))
            .await
            .unwrap();
    }
    // Watch from the middle of the history, while writers keep going: several watchers, started at
    // different moments, so some switch from history to live events in the middle of a burst.
    let from = inside[9];
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..60 {
                    let key = format!("/w/in/live{writer}-{i}");
                    let created = store.create(&key, value("x")).await.unwrap();
                    store
                        .create(&format!("/w/out/live{writer}-{i}"), value("x"))
                        .await
                        .unwrap();
                    let updated = store.update(&key, value("y"), created).await.unwrap();
                    revisions.extend([created, updated]);
                    if i % 5 == 0 {
                        let (deleted, _) = store.delete(&key, Some(updated)).await.unwrap();
                        revisions.push(deleted);
                    }
                }
                revisions
            })
        })
        .collect();
    let mut watches = Vec::new();
    for _ in 0..8 {
        watches.push(store.watch("/w/in", from).await.unwrap());
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    let mut expected: Vec<i64> = inside[10..].to_vec();
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }
    expected.sort_unstable();
    for (n, watch) in watches.iter_mut().enumerate() {
        let mut seen = Vec::new();
        while seen.len() < expected.len() {
            let event = next_event(watch).await;
            assert!(
                event.key().starts_with("/w/in/"),
                "event outside the prefix: {event:?}"
            );
            seen.push(event.revision());
        }
        if seen != expected {
            let missing: Vec<_> = expected.iter().filter(|r| !seen.contains(r)).collect();
            let out_of_order: Vec<_> = seen.windows(2).filter(|w| w[0] >= w[1]).collect();
            panic!(
                "watch {n} from {from}: every write in the prefix must arrive once, in order; \
                 missing {missing:?}, duplicated or out of order at {out_of_order:?}"
            );
        }
    }
    // Nothing more arrives: no duplicates after the switch to live events.
    for watch in &mut watches {
        let extra = tokio::time::timeout(Duration::from_millis(100), watch.next()).await;
        assert!(extra.is_err(), "unexpected extra event {extra:?}");
    }
}

pub async fn watch_reports_updates_and_deletes_with_previous_values<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/registry/nodes/", start).await.unwrap();
    let created = store
        .create("/registry/nodes/n1", value("v1"))
        .await
        .unwrap();
    let updated = store
        .update("/registry/nodes/n1", value("v2"), created)
        .await
        .unwrap();
    let (deleted, _) = store.delete("/registry/nodes/n1", None).await.unwrap();
    let kv = |v: &str, m: i64| KeyValue {
        key: "/registry/nodes/n1".to_owned(),
        value: value(v),
        create_revision: created,
        mod_revision: m,
    };
    assert_eq!(
        next_event(&mut watch).await,
        Event::Put {
            kv: kv("v1", created),
            prev: None
        }
    );
    assert_eq!(
        next_event(&mut watch).await,
        Event::Put {
            kv: kv("v2", updated),
            prev: Some(kv("v1", created))
        }
    );
    let delete = next_event(&mut watch).await;
    assert!(delete.is_delete());
    assert_eq!(
        delete,
        Event::Delete {
            kv: kv("v2", deleted),
            prev: Some(kv("v2", updated))
        }
    );
}

pub async fn compaction_refuses_older_reads_and_watches_but_keeps_current_data<F: Fixture>(
    fixture: &mut F,
) {
    let store = fixture.store();
    // A history with updates, deletions and re-creations, all of it before the compaction point.
    let a = store.create("/c/a", value("a1")).await.unwrap();
    let a = store.update("/c/a", value("a2"), a).await.unwrap();
    store.create("/c/b", value("b1")).await.unwrap();
    store.delete("/c/b", None).await.unwrap();
    store.create("/c/d", value("d1")).await.unwrap();
    store.delete("/c/d", None).await.unwrap();
    store.create("/c/d", value("d2")).await.unwrap();
    let e = store.create("/c/e", value("e1")).await.unwrap();
    store.delete("/c/e", Some(e)).await.unwrap(); // a tombstone right below the compaction point
    let compact_at = store.update("/c/a", value("a3"), a).await.unwrap();
    store.create("/c/f", value("f1")).await.unwrap();
    store.delete("/c/f", None).await.unwrap();

    let latest_before = store.list("/c/", ListOptions::latest()).await.unwrap();
    let at_compaction_before = store
        .list("/c/", ListOptions::latest().at_revision(compact_at))
        .await
        .unwrap();
    store.compact(compact_at).await.unwrap();

    let error = store
        .list("/c/", ListOptions::latest().at_revision(compact_at - 1))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Compacted { requested, compacted }
            if requested == compact_at - 1 && compacted == compact_at),
        "got {error:?}"
    );
    assert!(error.to_string().contains("has been compacted"));
    let at_compaction = store
        .list("/c/", ListOptions::latest().at_revision(compact_at))
        .await
        .unwrap();
    assert_eq!(at_compaction.items, at_compaction_before.items);
    assert_eq!(
        store.list("/c/", ListOptions::latest()).await.unwrap(),
        latest_before
    );
    assert_eq!(store.get("/c/a").await.unwrap().unwrap().value, value("a3"));
    assert_eq!(store.get("/c/b").await.unwrap(), None);

    let error = store.watch("/c/", compact_at - 2).await.unwrap_err();
    assert!(
        matches!(error, Error::Compacted { compacted, .. } if compacted == compact_at),
        "got {error:?}"
    );
    // Watching from just below the compacted revision still sees the write at it.
    let mut watch = store.watch("/c/", compact_at - 1).await.unwrap();
    let first = next_event(&mut watch).await;
    assert_eq!((first.revision(), first.key()), (compact_at, "/c/a"));
    assert_eq!(first.kv().value, value("a3"));

    // Compacting again to an older revision is a no-op; to the future, an error.
    store.compact(compact_at - 3).await.unwrap();
    let current = store.current_revision().await.unwrap();
    let error = store.compact(current + 5).await.unwrap_err();
    assert!(
        matches!(error, Error::FutureRevision { .. }),
        "got {error:?}"
    );

    // Everything written later compacts away too, and the store keeps working.
    store.compact(current).await.unwrap();
    assert_eq!(
        store.list("/c/", ListOptions::latest()).await.unwrap(),
        latest_before
    );
    let next = store.create("/c/g", value("g1")).await.unwrap();
    assert_eq!(next, current + 1);
}

pub async fn revision_stays_monotonic_across_restarts<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let created = store.create("/r/a", value("a")).await.unwrap();
    store.create("/r/b", value("b")).await.unwrap();
    // The last write is a deletion, then history is compacted away: the revision must still hold.
    let (deleted, _) = store.delete("/r/b", None).await.unwrap();
    store.compact(deleted).await.unwrap();

    fixture.restart().await;
    let store = fixture.store();
    assert_eq!(store.current_revision().await.unwrap(), deleted);
    let kv = store.get("/r/a").await.unwrap().unwrap();
    assert_eq!((kv.value, kv.mod_revision), (value("a"), created));
    assert_eq!(store.get("/r/b").await.unwrap(), None);
    let next = store.create("/r/c", value("c")).await.unwrap();
    assert_eq!(next, deleted + 1);
    let error = store
        .list("/r/", ListOptions::latest().at_revision(deleted - 1))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Compacted { .. }),
        "compaction survives a restart: {error:?}"
    );
}
