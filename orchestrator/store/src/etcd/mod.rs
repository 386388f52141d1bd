//! The etcd v3 backend, for highly available control planes.
//!
//! Revisions are etcd's own; create/update/delete are single etcd transactions comparing the key's
//! create or mod revision, watches ask for the previous value, and compaction is etcd's (physical,
//! so it is done when `compact` returns).

mod convert;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{
    Certificate, Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions,
    GetOptions, Identity, TlsOptions, Txn, TxnOp, TxnOpResponse,
};

use self::convert::{is_compacted, is_future_revision, key_value};
use crate::key_range::validate_key;
use crate::{Error, KeyRange, KeyValue, ListOptions, ListResult, Result, Store, WatchStream};

/// How long connecting to an endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// HTTP/2 keep-alive pings find a dead etcd within interval + timeout, failing its requests.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which etcd cluster to use, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs, e.g. `http://127.0.0.1:2379` (all `https://` when `tls` is set).
    pub endpoints: Vec<String>,
    /// TLS settings for `https://` endpoints.
    pub tls: Option<EtcdTls>,
}

/// The PEM files for talking TLS to etcd.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// The CA that signed etcd's serving certificate.
    pub ca: Option<PathBuf>,
    /// The client certificate, if etcd requires one (`--client-cert-auth`).
    pub cert: Option<PathBuf>,
    /// The client certificate's private key.
    pub key: Option<PathBuf>,
}

/// The store on an etcd v3 cluster. Cheap to clone.
#[derive(Clone)]
pub struct EtcdStore {
    /// Boxed behind an `Arc`: the client is several kilobytes and `AnyStore` is passed around.
    client: Arc<Client>,
    endpoints: Arc<str>,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

impl EtcdStore {
    /// Connects to etcd and checks that it answers.
    pub async fn connect(config: EtcdConfig) -> Result<Self> {
        let endpoints: Arc<str> = config.endpoints.join(",").into();
        let mut options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
            .with_require_leader(true);
        if let Some(tls) = &config.tls {
            options = options.with_tls(load_tls(tls).await?);
        }
        let client = Client::connect(&config.endpoints, Some(options))
            .await
            .map_err(|source| Error::Etcd {
                operation: "connect".to_owned(),
                endpoints: endpoints.to_string(),
                source,
            })?;
        let store = Self {
            client: Arc::new(client),
            endpoints,
            closed: Arc::new(AtomicBool::new(false)),
        };
        // Client::connect is lazy: make the first request now so a bad endpoint or certificate shows
        // at startup, named with the TLS files in use.
        let connect = match &config.tls {
            None => "connect".to_owned(),
            Some(tls) => format!(
                "connect over tls (ca {}, client certificate {})",
                tls.ca
                    .as_deref()
                    .map_or("none".into(), |p| p.display().to_string()),
                tls.cert
                    .as_deref()
                    .map_or("none".into(), |p| p.display().to_string()),
            ),
        };
        match store.current_revision().await {
            Ok(_) => Ok(store),
            Err(Error::Etcd {
                endpoints, source, ..
            }) => Err(Error::Etcd {
                operation: connect,
                endpoints,
                source,
            }),
            Err(other) => Err(other),
        }
    }

    /// The endpoints this store talks to, comma-separated.
    pub fn endpoints(&self) -> &str {
        &self.endpoints
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn error(&self, operation: impl Into<String>) -> impl FnOnce(etcd_client::Error) -> Error + '_ {
        let operation = operation.into();
        move |source| Error::Etcd {
            operation,
            endpoints: self.endpoints.to_string(),
            source,
        }
    }

    /// The compacted revision, learned from etcd's refusal to watch from `below` (a revision already
    /// known to be compacted). Falls back to `below + 1`, a lower bound, if etcd does not say.
    async fn compacted_revision(&self, below: i64) -> i64 {
        let probe = async {
            let options = etcd_client::WatchOptions::new().with_start_revision(below.max(1));
            let mut stream = self
                .client
                .watch_client()
                .watch("\0", Some(options))
                .await
                .ok()?;
            while let Ok(Some(response)) = stream.message().await {
                if response.compact_revision() > 0 {
                    return Some(response.compact_revision());
                }
                if response.canceled() {
                    break;
                }
            }
            None
        };
        tokio::time::timeout(Duration::from_secs(5), probe)
            .await
            .ok()
            .flatten()
            .unwrap_or(below + 1)
    }

    /// Maps a failed read at `requested` to `Compacted`/`FutureRevision` where etcd says so.
    async fn read_error(
        &self,
        operation: String,
        requested: i64,
        source: etcd_client::Error,
    ) -> Error {
        if is_compacted(&source) {
            return Error::Compacted {
                requested,
                compacted: self.compacted_revision(requested).await,
            };
        }
        if is_future_revision(&source) {
            if let Ok(current) = self.current_revision().await {
                return Error::FutureRevision { requested, current };
            }
        }
        self.error(operation)(source)
    }
}

/// The etcd range `[key, range_end)` of a key range; etcd spells "every key" as `\0`..`\0`.
fn etcd_range(range: &KeyRange) -> (String, String) {
    let start = if range.start.is_empty() {
        "\0".to_owned()
    } else {
        range.start.clone()
    };
    (start, range.end.clone().unwrap_or_else(|| "\0".to_owned()))
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> i64 {
    header.map_or(0, etcd_client::ResponseHeader::revision)
}

impl Store for EtcdStore {
    async fn current_revision(&self) -> Result<i64> {
        self.check_open()?;
        let response = self
            .client
            .kv_client()
            .get("\0", Some(GetOptions::new().with_count_only()))
            .await
            .map_err(self.error("read the current revision"))?;
        Ok(header_revision(response.header()))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.check_open()?;
        validate_key(key)?;
        let response = self
            .client
            .kv_client()
            .get(key, None)
            .await
            .map_err(self.error(format!("get {key}")))?;
        response.kvs().first().map(key_value).transpose()
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        self.check_open()?;
        let range = KeyRange::prefix(prefix);
        let (mut start, end) = etcd_range(&range);
        if let Some(after) = opts.start_after.as_deref().filter(|a| *a >= start.as_str()) {
            start = format!("{after}\0");
        }
        let requested = opts.requested_revision();
        if range
            .end
            .as_deref()
            .is_some_and(|end| start.as_str() >= end)
        {
            // Continuing past the end of the range: nothing left, at the revision asked for.
            let revision = match requested {
                Some(revision) => revision,
                None => self.current_revision().await?,
            };
            return Ok(ListResult {
                items: Vec::new(),
                revision,
                more: false,
            });
        }
        let mut options = GetOptions::new().with_range(end);
        if let Some(revision) = requested {
            options = options.with_revision(revision);
        }
        if let Some(limit) = opts.requested_limit() {
            options = options.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let operation = format!("list {}", range.start);
        // A full list can pass gRPC's 4 MiB default (10,000 pods are ~50 MiB); kube-apiserver
        // allows responses up to 2 GiB (MaxCallRecvMsgSize = math.MaxInt32).
        let mut kv = self
            .client
            .kv_client()
            .max_decoding_message_size(i32::MAX as usize);
        let response = match kv.get(start, Some(options)).await {
            Ok(response) => response,
            Err(source) => {
                let revision = requested.unwrap_or_default();
                return Err(self.read_error(operation, revision, source).await);
            }
        };
        Ok(ListResult {
            items: response
                .kvs()
                .iter()
                .map(key_value)
                .collect::<Result<_>>()?,
            revision: requested.unwrap_or_else(|| header_revision(response.header())),
            more: response.more(),
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        self.check_open()?;
        let range = KeyRange::prefix(prefix);
        let (start, end) = etcd_range(&range);
        let options = GetOptions::new().with_range(end).with_count_only();
        let response = self
            .client
            .kv_client()
            .get(start, Some(options))
            .await
            .map_err(self.error(format!("count {}", range.start)))?;
        Ok(response.count())
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<i64> {
        self.check_open()?;
        validate_key(key)?;
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)]);
        let response = self
            .client
            .kv_client()
            .txn(txn)
            .await
            .map_err(self.error(format!("create {key}")))?;
        if !response.succeeded() {
            return Err(Error::AlreadyExists {
                key: key.to_owned(),
            });
        }
        Ok(header_revision(response.header()))
    }

    async fn update(&self, key: &str, value: Bytes, expected_mod_revision: i64) -> Result<i64> {
        self.check_open()?;
        validate_key(key)?;
        let txn = Txn::new()
            .when([
                Compare::create_revision(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, expected_mod_revision),
            ])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        let response = self
            .client
            .kv_client()
            .txn(txn)
            .await
            .map_err(self.error(format!("update {key}")))?;
        if response.succeeded() {
            return Ok(header_revision(response.header()));
        }
        Err(refusal("update", key, expected_mod_revision, &response))
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        self.check_open()?;
        validate_key(key)?;
        let mut compares = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected_mod_revision {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self
            .client
            .kv_client()
            .txn(txn)
            .await
            .map_err(self.error(format!("delete {key}")))?;
        if !response.succeeded() {
            let expected = expected_mod_revision.unwrap_or_default();
            return Err(refusal("delete", key, expected, &response));
        }
        let deleted = response.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Delete(delete) => delete.prev_kvs().first().map(key_value),
            _ => None,
        });
        match deleted {
            Some(deleted) => Ok((header_revision(response.header()), deleted?)),
            // Deleted by someone else between the compare and the delete cannot happen inside one
            // transaction; treat a missing previous value as the key being gone.
            None => Err(Error::NotFound {
                operation: "delete",
                key: key.to_owned(),
            }),
        }
    }

    async fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream> {
        self.check_open()?;
        watcher::start(self, prefix, from_revision).await
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.check_open()?;
        let options = CompactionOptions::new().with_physical();
        match self
            .client
            .kv_client()
            .compact(revision, Some(options))
            .await
        {
            Ok(_) => Ok(()),
            // Already compacted to or past `revision`.
            Err(source) if is_compacted(&source) => Ok(()),
            Err(source) => Err(self
                .read_error(format!("compact to revision {revision}"), revision, source)
                .await),
        }
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// The error for a transaction whose compares failed: the key is gone, or it moved on.
fn refusal(
    operation: &'static str,
    key: &str,
    expected: i64,
    response: &etcd_client::TxnResponse,
) -> Error {
    let current = response.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.mod_revision()),
        _ => None,
    });
    match current {
        Some(current) => Error::Conflict {
            operation,
            key: key.to_owned(),
            expected,
            current,
        },
        None => Error::NotFound {
            operation,
            key: key.to_owned(),
        },
    }
}

async fn load_tls(tls: &EtcdTls) -> Result<TlsOptions> {
    async fn read(what: &'static str, path: &Path) -> Result<Vec<u8>> {
        tokio::fs::read(path)
            .await
            .map_err(|source| Error::ReadTlsFile {
                what,
                path: path.to_owned(),
                source,
            })
    }
    let mut options = TlsOptions::new();
    if let Some(ca) = &tls.ca {
        options = options.ca_certificate(Certificate::from_pem(read("ca", ca).await?));
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        options = options.identity(Identity::from_pem(
            read("cert", cert).await?,
            read("key", key).await?,
        ));
    }
    Ok(options)
}
