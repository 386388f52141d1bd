//! Behaviour specific to the SQLite backend: group commit, bounded watchers, locking, files.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use clusterd_store::{AnyStore, Error, ListOptions, SqliteConfig, SqliteStore, Store};
use support::value;

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(SqliteConfig::new(dir.path().join("state.db")))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_gives_each_concurrent_write_its_own_revision_in_fewer_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let start = store.current_revision().await.unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|client| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..40 {
                    let key = format!("/registry/events/c{client}-{i}");
                    revisions.push(store.create(&key, value("x")).await.unwrap());
                }
                revisions
            })
        })
        .collect();
    let mut revisions = BTreeSet::new();
    for task in tasks {
        revisions.extend(task.await.unwrap());
    }
    assert_eq!(revisions.len(), 32 * 40, "every write has its own revision");
    assert_eq!(revisions.first(), Some(&(start + 1)));
    assert_eq!(revisions.last(), Some(&(start + 32 * 40)));
    let stats = store.commit_stats();
    assert_eq!(stats.writes, 32 * 40);
    assert!(
        stats.transactions < stats.writes / 2,
        "32 concurrent writers should share commits: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.create("/dup", value("first")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = if i % 2 == 0 {
                    "/dup".to_owned()
                } else {
                    format!("/new{i}")
                };
                store.create(&key, value("x")).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::AlreadyExists { key }) => assert_eq!(key, "/dup"),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(store.count("/").await.unwrap(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_too_far_behind_is_stopped_with_a_lagged_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SqliteConfig::new(dir.path().join("state.db"));
    config.watch_buffer = 16;
    let store = SqliteStore::open(config).await.unwrap();
    let start = store.current_revision().await.unwrap();
    let mut slow = store.watch("/lag/", start).await.unwrap();
    for i in 0..1000 {
        store
            .create(&format!("/lag/k{i:04}"), value("x"))
            .await
            .unwrap();
    }
    let mut delivered = 0;
    let error = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.next())
            .await
            .unwrap()
        {
            Some(Ok(_)) => delivered += 1,
            Some(Err(error)) => break error,
            None => panic!("watch ended without an error after {delivered} events"),
        }
    };
    assert!(
        delivered < 1000,
        "a lagging watcher must not buffer everything"
    );
    assert!(
        matches!(&error, Error::WatchLagged { prefix, buffer: 16 } if prefix == "/lag/"),
        "got {error:?}"
    );
    assert!(error.to_string().contains("list and watch again"));
    assert!(
        slow.next().await.is_none(),
        "the stream ends after the error"
    );

    // A watcher that keeps up with the same writes is unaffected.
    let from = store.current_revision().await.unwrap();
    let mut keeping_up = store.watch("/lag/", from).await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                store
                    .create(&format!("/lag/more{i:04}"), value("x"))
                    .await
                    .unwrap();
            }
        })
    };
    for _ in 0..200 {
        support::next_event(&mut keeping_up).await;
    }
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_database_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&dir).await;
    let error = SqliteStore::open(SqliteConfig::new(dir.path().join("state.db")))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Locked { .. }), "got {error:?}");
    assert!(error
        .to_string()
        .contains("in use by another clusterd server"));
    first.close().await.unwrap();
    let second = open(&dir).await;
    second.create("/after", value("x")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_refuses_calls_and_ends_its_watches() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let revision = store.create("/k", value("x")).await.unwrap();
    let mut watch = store.watch("/", revision).await.unwrap();
    store.close().await.unwrap();
    assert!(matches!(
        store.create("/k2", value("x")).await,
        Err(Error::Closed)
    ));
    assert!(matches!(store.get("/k").await, Err(Error::Closed)));
    assert!(matches!(store.watch("/", 0).await, Err(Error::Closed)));
    let ended = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap();
    assert!(
        matches!(ended, Some(Err(Error::Closed)) | None),
        "got {ended:?}"
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_and_its_directory_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/lib/clusterd/state.db");
    let store = SqliteStore::open(SqliteConfig::new(&path)).await.unwrap();
    store
        .create("/registry/secrets/default/token", value("secret"))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(
        mode(&dir.path().join("var/lib/clusterd/state.db-wal")),
        0o600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_store_opens_sqlite_from_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?watch_buffer=128",
        dir.path().join("state.db").display()
    );
    let store = AnyStore::open(&url).await.unwrap();
    assert!(matches!(store, AnyStore::Sqlite(_)));
    let revision = store
        .create("/registry/ns/default", value("{}"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get("/registry/ns/default")
            .await
            .unwrap()
            .unwrap()
            .mod_revision,
        revision
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_physically_removes_superseded_rows_across_many_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // 100 keys updated 100 times each (10,000 revisions, several compaction chunks), some deleted.
    let mut revisions = vec![0; 100];
    for (i, revision) in revisions.iter_mut().enumerate() {
        *revision = store
            .create(&format!("/big/k{i:03}"), value("0"))
            .await
            .unwrap();
    }
    for round in 1..100 {
        // Each round's updates go out concurrently, so group commit keeps the test fast.
        let updates: Vec<_> = revisions
            .iter()
            .enumerate()
            .map(|(i, revision)| {
                let (store, revision) = (store.clone(), *revision);
                tokio::spawn(async move {
                    let key = format!("/big/k{i:03}");
                    store
                        .update(&key, value(&round.to_string()), revision)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for (revision, update) in revisions.iter_mut().zip(updates) {
            *revision = update.await.unwrap();
        }
    }
    for i in (0..100).step_by(10) {
        store.delete(&format!("/big/k{i:03}"), None).await.unwrap();
    }
    let before = store.list("/big/", ListOptions::latest()).await.unwrap();
    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    assert_eq!(
        store.list("/big/", ListOptions::latest()).await.unwrap(),
        before
    );
    assert_eq!(before.items.len(), 90);
    assert!(before.items.iter().all(|kv| kv.value == value("99")));

    let rows: i64 = rusqlite::Connection::open(dir.path().join("state.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM kv", [], |row| row.get(0))
        .unwrap();
    // The live rows stay, plus the last tombstone (at the compaction revision itself).
    assert!(rows <= 91, "{rows} rows remain after compacting everything");
    assert!(rows >= 90, "live rows were removed: {rows}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_interrupted_by_a_crash_finishes_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut revision = store.create("/crash/k", value("0")).await.unwrap();
    for round in 1..50 {
        revision = store
            .update("/crash/k", value(&round.to_string()), revision)
            .await
            .unwrap();
    }
    store.close().await.unwrap();
    let db = dir.path().join("state.db");
    let rows = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM kv", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(rows(), 50);
    // What a crash right after recording the compact revision leaves behind.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('compact_revision', ?1)",
            [revision],
        )
        .unwrap();

    let store = open(&dir).await;
    let error = store
        .list("/crash/", ListOptions::latest().at_revision(revision - 1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Compacted { .. }), "got {error:?}");
    store.compact(revision).await.unwrap();
    assert_eq!(
        rows(),
        1,
        "the superseded rows are gone once compact returns"
    );
    let kv = store.get("/crash/k").await.unwrap().unwrap();
    assert_eq!((kv.value, kv.mod_revision), (value("49"), revision));
}
