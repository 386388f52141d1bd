//! Shared by the integration tests: store fixtures for both backends and the conformance suite.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod conformance;
pub mod etcd_server;

use std::future::Future;
use std::time::Duration;

use clusterd_store::{
    Bytes, EtcdConfig, EtcdStore, Event, SqliteConfig, SqliteStore, Store, WatchStream,
};

use self::etcd_server::EtcdServer;

/// A store under test that can be restarted on the same data.
pub(crate) trait Fixture: Sized + Send {
    type Store: Store + Clone + 'static;

    /// A fresh, empty store; `None` if the backend is not installed (the test is skipped).
    fn start() -> impl Future<Output = Option<Self>> + Send;

    /// The store.
    fn store(&self) -> &Self::Store;

    /// Closes the store and opens it again on the same data.
    fn restart(&mut self) -> impl Future<Output = ()> + Send;
}

/// SQLite in a temporary directory.
pub(crate) struct SqliteFixture {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
}

impl SqliteFixture {
    pub fn config(&self) -> SqliteConfig {
        SqliteConfig::new(self.dir.path().join("state.db"))
    }
}

impl Fixture for SqliteFixture {
    type Store = SqliteStore;

    async fn start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("state.db")))
            .await
            .expect("open sqlite store");
        Some(Self { dir, store })
    }

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    async fn restart(&mut self) {
        self.store.close().await.expect("close sqlite store");
        self.store = SqliteStore::open(self.config())
            .await
            .expect("reopen sqlite store");
    }
}

/// A real etcd on random ports.
pub(crate) struct EtcdFixture {
    pub server: EtcdServer,
    pub store: EtcdStore,
}

pub(crate) async fn connect_etcd(server: &EtcdServer) -> EtcdStore {
    let config = EtcdConfig {
        endpoints: vec![server.client_url()],
        tls: None,
    };
    // etcd accepts connections a moment before it serves them.
    let mut last_error = None;
    for _ in 0..100 {
        match EtcdStore::connect(config.clone()).await {
            Ok(store) => return store,
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "connect to etcd at {}: {:?}\nlog:\n{}",
        server.client_url(),
        last_error,
        server.log()
    );
}

impl Fixture for EtcdFixture {
    type Store = EtcdStore;

    async fn start() -> Option<Self> {
        let server = EtcdServer::start()?;
        let store = connect_etcd(&server).await;
        Some(Self { server, store })
    }

    fn store(&self) -> &EtcdStore {
        &self.store
    }

    async fn restart(&mut self) {
        self.store.close().await.expect("close etcd store");
        self.server.restart();
        self.store = connect_etcd(&self.server).await;
    }
}

/// Bytes of a string, for values.
pub fn value(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// The next watch event, failing the test if none comes within 10 seconds or the watch errs.
pub async fn next_event(stream: &mut WatchStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(error))) => panic!("watch failed: {error}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within 10s"),
    }
}

/// Declares one `#[tokio::test]` per conformance case, run against the fixture type given.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(mut fixture) = <$fixture as $crate::support::Fixture>::start().await else {
                    return;
                };
                $crate::support::conformance::$case(&mut fixture).await;
            }
        )*
    };
}

/// Every conformance case, for `conformance_tests!`.
#[macro_export]
macro_rules! all_conformance_tests {
    ($fixture:ty) => {
        $crate::conformance_tests!($fixture;
            create_then_get_returns_the_value_and_its_revisions,
            create_of_a_live_key_fails_with_already_exists_and_takes_no_revision,
            update_with_a_stale_revision_conflicts_and_reports_the_current_one,
            concurrent_updates_from_one_revision_let_exactly_one_win,
            delete_honours_the_expected_revision_and_returns_the_last_value,
            list_and_count_match_directory_prefixes_exactly,
            list_at_an_older_revision_shows_the_past,
            paging_with_limit_and_continue_is_consistent_at_the_first_pages_revision,
            a_list_larger_than_4_mib_comes_back_whole,
            watch_replays_history_then_goes_live_without_gaps_or_duplicates,
            watch_reports_updates_and_deletes_with_previous_values,
            compaction_refuses_older_reads_and_watches_but_keeps_current_data,
            revision_stays_monotonic_across_restarts,
            invalid_keys_are_rejected,
        );
    };
}
