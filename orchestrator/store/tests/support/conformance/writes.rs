//! Writes: create, update, delete, optimistic concurrency, key validation.

use clusterd_store::{Error, KeyValue, Store};

use crate::support::{value, Fixture};

pub async fn create_then_get_returns_the_value_and_its_revisions<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let before = store.current_revision().await.unwrap();
    let revision = store
        .create("/registry/pods/default/web", value("v1"))
        .await
        .unwrap();
    assert!(
        revision > before,
        "write revision {revision} must follow {before}"
    );
    assert_eq!(store.current_revision().await.unwrap(), revision);
    let kv = store
        .get("/registry/pods/default/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kv,
        KeyValue {
            key: "/registry/pods/default/web".to_owned(),
            value: value("v1"),
            create_revision: revision,
            mod_revision: revision,
        }
    );
    assert_eq!(
        store.get("/registry/pods/default/missing").await.unwrap(),
        None
    );
}

pub async fn create_of_a_live_key_fails_with_already_exists_and_takes_no_revision<F: Fixture>(
    fixture: &mut F,
) {
    let store = fixture.store();
    let revision = store
        .create("/registry/ns/a", value("first"))
        .await
        .unwrap();
    let error = store
        .create("/registry/ns/a", value("second"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::AlreadyExists { key } if key == "/registry/ns/a"),
        "got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "create /registry/ns/a: key already exists"
    );
    assert_eq!(store.current_revision().await.unwrap(), revision);
    assert_eq!(
        store.get("/registry/ns/a").await.unwrap().unwrap().value,
        value("first")
    );
}

pub async fn update_with_a_stale_revision_conflicts_and_reports_the_current_one<F: Fixture>(
    fixture: &mut F,
) {
    let store = fixture.store();
    let created = store.create("/registry/cm/a", value("v1")).await.unwrap();
    let updated = store
        .update("/registry/cm/a", value("v2"), created)
        .await
        .unwrap();
    assert!(updated > created);
    let error = store
        .update("/registry/cm/a", value("v3"), created)
        .await
        .unwrap_err();
    match error {
        Error::Conflict {
            operation,
            key,
            expected,
            current,
        } => {
            assert_eq!((operation, key.as_str()), ("update", "/registry/cm/a"));
            assert_eq!((expected, current), (created, updated));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let kv = store.get("/registry/cm/a").await.unwrap().unwrap();
    assert_eq!(
        (kv.value, kv.create_revision, kv.mod_revision),
        (value("v2"), created, updated)
    );
    let missing = store
        .update("/registry/cm/missing", value("x"), updated)
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            Error::NotFound {
                operation: "update",
                ..
            }
        ),
        "got {missing:?}"
    );
    // Revision 0 never matches a live key, and must not create a missing one.
    let zero = store
        .update("/registry/cm/missing", value("x"), 0)
        .await
        .unwrap_err();
    assert!(matches!(zero, Error::NotFound { .. }), "got {zero:?}");
    assert_eq!(store.get("/registry/cm/missing").await.unwrap(), None);
}

pub async fn concurrent_updates_from_one_revision_let_exactly_one_win<F: Fixture>(fixture: &mut F) {
    let store = fixture.store().clone();
    let created = store
        .create("/registry/leases/leader", value("none"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for contender in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update(
                    "/registry/leases/leader",
                    value(&format!("c{contender}")),
                    created,
                )
                .await
        }));
    }
    let mut winners = Vec::new();
    for (contender, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(revision) => winners.push((contender, revision)),
            Err(Error::Conflict { current, .. }) => assert!(current > created),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let kv = store.get("/registry/leases/leader").await.unwrap().unwrap();
    assert_eq!(kv.value, value(&format!("c{}", winners[0].0)));
    assert_eq!(kv.mod_revision, winners[0].1);
}

pub async fn delete_honours_the_expected_revision_and_returns_the_last_value<F: Fixture>(
    fixture: &mut F,
) {
    let store = fixture.store();
    let created = store
        .create("/registry/secrets/s", value("v1"))
        .await
        .unwrap();
    let updated = store
        .update("/registry/secrets/s", value("v2"), created)
        .await
        .unwrap();
    let stale = store
        .delete("/registry/secrets/s", Some(created))
        .await
        .unwrap_err();
    assert!(
        matches!(stale, Error::Conflict { operation: "delete", expected, current, .. }
            if expected == created && current == updated),
        "got {stale:?}"
    );
    let (deleted_at, last) = store
        .delete("/registry/secrets/s", Some(updated))
        .await
        .unwrap();
    assert!(deleted_at > updated);
    assert_eq!(
        last,
        KeyValue {
            key: "/registry/secrets/s".to_owned(),
            value: value("v2"),
            create_revision: created,
            mod_revision: updated,
        }
    );
    assert_eq!(store.get("/registry/secrets/s").await.unwrap(), None);
    let again = store.delete("/registry/secrets/s", None).await.unwrap_err();
    assert!(
        matches!(
            again,
            Error::NotFound {
                operation: "delete",
                ..
            }
        ),
        "got {again:?}"
    );
    // A deleted key can be created again, as a new incarnation.
    let recreated = store
        .create("/registry/secrets/s", value("v3"))
        .await
        .unwrap();
    let kv = store.get("/registry/secrets/s").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.value), (recreated, value("v3")));
    // Unconditional delete.
    let (_, last) = store.delete("/registry/secrets/s", None).await.unwrap();
    assert_eq!(last.value, value("v3"));
}

pub async fn invalid_keys_are_rejected<F: Fixture>(fixture: &mut F) {
    let store = fixture.store();
    let error = store.create("", value("x")).await.unwrap_err();
    assert!(matches!(error, Error::InvalidKey { .. }), "got {error:?}");
    let error = store.get("/a\0b").await.unwrap_err();
    assert!(matches!(error, Error::InvalidKey { .. }), "got {error:?}");
}
