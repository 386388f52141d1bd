//! The backend chosen at startup, behind one type.

use bytes::Bytes;

use crate::{
    EtcdStore, KeyValue, ListOptions, ListResult, Result, SqliteStore, Store, StoreConfig,
    WatchStream,
};

/// Either backend, picked from a store URL by [`AnyStore::open`]; this is what clusterd holds.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Embedded SQLite (the default).
    Sqlite(SqliteStore),
    /// An etcd v3 cluster.
    Etcd(EtcdStore),
}

impl AnyStore {
    /// Opens the store a URL names (see [`StoreConfig`] for the accepted forms).
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_config(StoreConfig::parse(url)?).await
    }

    /// Opens the store a parsed configuration names.
    pub async fn open_config(config: StoreConfig) -> Result<Self> {
        Ok(match config {
            StoreConfig::Sqlite(config) => Self::Sqlite(SqliteStore::open(config).await?),
            StoreConfig::Etcd(config) => Self::Etcd(EtcdStore::connect(config).await?),
        })
    }
}

/// Forwards a call to whichever backend is inside.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Etcd($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn current_revision(&self) -> Result<i64> {
        dispatch!(self, store => store.current_revision())
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        dispatch!(self, store => store.get(key))
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        dispatch!(self, store => store.list(prefix, opts))
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        dispatch!(self, store => store.count(prefix))
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<i64> {
        dispatch!(self, store => store.create(key, value))
    }

    async fn update(&self, key: &str, value: Bytes, expected_mod_revision: i64) -> Result<i64> {
        dispatch!(self, store => store.update(key, value, expected_mod_revision))
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        dispatch!(self, store => store.delete(key, expected_mod_revision))
    }

    async fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream> {
        dispatch!(self, store => store.watch(prefix, from_revision))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        dispatch!(self, store => store.compact(revision))
    }

    async fn close(&self) -> Result<()> {
        dispatch!(self, store => store.close())
    }
}
