//! Reads: prefixes, past revisions, paging.

use std::collections::BTreeMap;

use clusterd_store::{Error, KeyValue, ListOptions, Store};

use crate::support::{value, Fixture};

pub async fn list_and_count_match_directory_prefixes_exactly<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    for key in [
        "/registry/pods/def/a",
        "/registry/pods/def/b",
        "/registry/pods/default/a",
        "/registry/pods/def0",
        "/registry/pods/de/x",
        "/registry/podsecurity/x",
    ] {
        store.create(key, value(key)).await.unwrap();
    }
    let keys = |items: Vec<KeyValue>| items.into_iter().map(|kv| kv.key).collect::<Vec<_>>();
    for prefix in ["/registry/pods/def", "/registry/pods/def/"] {
        let listed = store.list(prefix, ListOptions::latest()).await.unwrap();
        assert_eq!(
            keys(listed.items),
            ["/registry/pods/def/a", "/registry/pods/def/b"],
            "{prefix}"
        );
        assert_eq!(store.count(prefix).await.unwrap(), 2, "{prefix}");
    }
    let pods = store
        .list("/registry/pods", ListOptions::latest())
        .await
        .unwrap();
    assert_eq!(
        keys(pods.items),
        [
            "/registry/pods/de/x",
            "/registry/pods/def/a",
            "/registry/pods/def/b",
            "/registry/pods/def0",
            "/registry/pods/default/a",
        ]
    );
    assert_eq!(store.count("/registry/").await.unwrap(), 6);
    assert_eq!(
        store
            .list("", ListOptions::latest())
            .await
            .unwrap()
            .items
            .len(),
        6
    );
    assert_eq!(store.count("/registry/nothing/").await.unwrap(), 0);
}

pub async fn list_at_an_older_revision_shows_the_past<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let a = store.create("/registry/svc/a", value("a1")).await.unwrap();
    let b = store.create("/registry/svc/b", value("b1")).await.unwrap();
    store
        .update("/registry/svc/a", value("a2"), a)
        .await
        .unwrap();
    store.delete("/registry/svc/b", Some(b)).await.unwrap();
    store.create("/registry/svc/c", value("c1")).await.unwrap();

    let past = store
        .list("/registry/svc/", ListOptions::latest().at_revision(b))
        .await
        .unwrap();
    assert_eq!(past.revision, b);
    let seen: Vec<_> = past
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/registry/svc/a", value("a1")),
            ("/registry/svc/b", value("b1"))
        ]
    );
    assert_eq!(past.items[0].mod_revision, a);

    let now = store
        .list("/registry/svc/", ListOptions::latest())
        .await
        .unwrap();
    assert_eq!(now.revision, store.current_revision().await.unwrap());
    let seen: Vec<_> = now
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/registry/svc/a", value("a2")),
            ("/registry/svc/c", value("c1"))
        ]
    );

    let future = now.revision + 10;
    let error = store
        .list("/registry/svc/", ListOptions::latest().at_revision(future))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::FutureRevision { requested, current }
            if requested == future && current == now.revision),
        "got {error:?}"
    );
}

pub async fn paging_with_limit_and_continue_is_consistent_at_the_first_pages_revision<
    F: Fixture,
>(
    fixture: &mut F,
) {
    let store = fixture.store();
    let mut original = BTreeMap::new();
    for i in 0..10 {
        let key = format!("/registry/deploy/d{i:02}");
        let revision = store.create(&key, value("original")).await.unwrap();
        original.insert(key, revision);
    }
    let first = store
        .list("/registry/deploy/", ListOptions::latest().with_limit(4))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    assert!(first.more);

    // Writes between pages must not show up in the later pages.
    store
        .create("/registry/deploy/d05a", value("inserted"))
        .await
        .unwrap();
    store
        .update(
            "/registry/deploy/d06",
            value("changed"),
            original["/registry/deploy/d06"],
        )
        .await
        .unwrap();
    store.delete("/registry/deploy/d09", None).await.unwrap();
    store.delete("/registry/deploy/d00", None).await.unwrap();

    let mut seen: Vec<KeyValue> = first.items.clone();
    let mut page = first.clone();
    while let Some(next) = page.next_page(Some(4)) {
        page = store.list("/registry/deploy/", next).await.unwrap();
        assert_eq!(page.revision, first.revision);
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().cloned());
    }
    let seen_keys: Vec<_> = seen.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(seen_keys, original.keys().cloned().collect::<Vec<_>>());
    assert!(seen.iter().all(|kv| kv.value == value("original")));
    assert!(seen.iter().all(|kv| kv.mod_revision == original[&kv.key]));

    // A fresh list shows the writes.
    let now = store
        .list("/registry/deploy/", ListOptions::latest())
        .await
        .unwrap();
    assert_eq!(now.items.len(), 9);
    assert!(!now.more);
    // A limit larger than what is left reports no more pages.
    let all = store
        .list("/registry/deploy/", ListOptions::latest().with_limit(9))
        .await
        .unwrap();
    assert_eq!((all.items.len(), all.more), (9, false));
}

/// A full list larger than gRPC's default 4 MiB message limit (10,000 pods are ~50 MiB) comes
/// back whole, as from kube-apiserver's etcd client.
pub async fn a_list_larger_than_4_mib_comes_back_whole<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let big = clusterd_store::Bytes::from(vec![b'x'; 100 * 1024]);
    for i in 0..60 {
        store
            .create(&format!("/registry/big/k{i:02}"), big.clone())
            .await
            .unwrap();
    }
    let listed = store
        .list("/registry/big/", ListOptions::latest())
        .await
        .expect("a 6 MiB list");
    assert_eq!(listed.items.len(), 60);
    assert!(listed.items.iter().all(|kv| kv.value == big));
    assert!(!listed.more);
}
