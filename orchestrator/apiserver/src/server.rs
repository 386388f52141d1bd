//! Starting and running the API server: PKI, store, seed objects, RBAC sync, the admin kubeconfig,
//! then HTTPS until shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clusterctl_kubeconfig::{render_standalone, write_file, Cluster, Entry, User};
use clusterctl_pki::{first_service_ip, ClusterPki, PkiPaths, PkiSpec, San, DEFAULT_SERVICE_CIDR};
use clusterd_store::AnyStore;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::authn::{user_from_certificate, StaticTokens, TokenSigner};
use crate::endpoint_reconciler::EndpointReconciler;
use crate::error::{Error, Result};
use crate::state::ApiState;

/// How `clusterd server` is asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where the PKI (`pki/`), the default SQLite database (`db/state.db`) and
    /// `admin.kubeconfig` live.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub bind: IpAddr,
    /// The port to listen on (0 picks a free one, for tests).
    pub port: u16,
    /// The datastore URL; `sqlite://<data_dir>/db/state.db` when `None`.
    pub datastore: Option<String>,
    /// The address clients use, written into the kubeconfig and the certificate.
    pub advertise_address: Option<IpAddr>,
    /// Extra names and addresses for the serving certificate.
    pub tls_sans: Vec<String>,
    /// A static token file (`token,user,uid,"groups"` lines).
    pub token_auth_file: Option<PathBuf>,
    /// The cluster name, used for the CA and the kubeconfig context.
    pub cluster_name: String,
    /// Encrypt Secrets at rest with the key in `<data_dir>/encryption/aesgcm.key` (created if
    /// missing). Off by default, like upstream.
    pub encrypt_secrets: bool,
    /// How long this server stays in the `kubernetes` Service's endpoints without renewing its
    /// `kube-system/apiserver-*` Lease (renewed every third of it; upstream's 15 s).
    pub endpoint_lease_duration: Duration,
}

impl ServerConfig {
    /// Defaults for `data_dir`: all interfaces, port 6443, SQLite, cluster `clusterd`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 6443,
            datastore: None,
            advertise_address: None,
            tls_sans: Vec::new(),
            token_auth_file: None,
            cluster_name: "clusterd".to_owned(),
            encrypt_secrets: false,
            endpoint_lease_duration: crate::endpoint_reconciler::DEFAULT_LEASE_DURATION,
        }
    }

    /// The datastore URL in effect.
    pub fn datastore_url(&self) -> String {
        self.datastore.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("db").join("state.db").display()
            )
        })
    }

    /// The key Secrets are encrypted with.
    pub fn encryption_key_path(&self) -> PathBuf {
        self.data_dir.join("encryption").join("aesgcm.key")
    }

    /// Where the admin kubeconfig is written.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.data_dir.join("admin.kubeconfig")
    }
}

/// A started API server, listening but not yet serving.
pub struct ApiServer {
    state: Arc<ApiState>,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    local_addr: SocketAddr,
    kubeconfig: PathBuf,
    endpoints: Option<Arc<EndpointReconciler>>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("local_addr", &self.local_addr)
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

impl ApiServer {
    /// Opens the store, loads or generates the PKI (refusing to make or use a CA other than the
    /// one of the cluster the store belongs to), seeds the store, loads RBAC, binds the port,
    /// renews this server's endpoint lease and writes the admin kubeconfig.
    pub async fn start(config: &ServerConfig) -> Result<Self> {
        let pki_dir = config.data_dir.join("pki");
        let mut sans = Vec::new();
        let mut names: Vec<String> = config.tls_sans.clone();
        if let Some(ip) = config.advertise_address {
            names.push(ip.to_string());
        }
        if !config.bind.is_unspecified() {
            names.push(config.bind.to_string());
        }
        names.extend(host_name());
        for name in &names {
            match San::parse(name) {
                Ok(san) => sans.push(san),
                Err(e) => tracing::warn!(san = %name, error = %e, "skipping tls san"),
            }
        }
        let spec = PkiSpec::new(config.cluster_name.clone()).with_sans(sans);
        let url = config.datastore_url();
        let store = AnyStore::open(&url).await.map_err(|source| Error::Store {
            operation: format!("open datastore {url}"),
            source,
        })?;
        let cipher = crate::storage::SecretCipher::load_or_create(
            &config.encryption_key_path(),
            config.encrypt_secrets,
        )?;
        let store = crate::storage::ObjectStore::new(store, cipher);
        // A server joining an existing cluster (a shared datastore) must have its CA: never
        // generate a second one.
        let cluster = crate::seed::cluster_ca(&store).await?;
        if let Some((_, server)) = &cluster {
            if !PkiPaths::new(&pki_dir).ca_cert().exists() {
                return Err(Error::ForeignCa {
                    dir: pki_dir,
                    cluster: server.clone(),
                    reason: "this server has no ca.crt",
                });
            }
        }
        let pki = {
            let dir = pki_dir.clone();
            tokio::task::spawn_blocking(move || {
                ClusterPki::load_or_generate(PkiPaths::new(&dir), &spec)
            })
            .await
            .map_err(|e| Error::Tls {
                reason: format!("pki task failed: {e}"),
            })?
            .map_err(|source| Error::Pki {
                dir: pki_dir.clone(),
                source,
            })?
        };
        if let Some((ca_data, server)) = cluster {
            if ca_data != pki.ca_data_base64() {
                return Err(Error::ForeignCa {
                    dir: pki_dir,
                    cluster: server,
                    reason: "its ca.crt is another",
                });
            }
        }
        let service_ip = first_service_ip(DEFAULT_SERVICE_CIDR).map_err(|source| Error::Pki {
            dir: pki_dir.clone(),
            source,
        })?;
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        crate::seed::seed(&store, &service_ip.to_string(), local_addr.port()).await?;
        let signer = TokenSigner::from_pem(
            pki.service_account().private_key_pem(),
            "https://kubernetes.default.svc.cluster.local",
        )?;
        let static_tokens = match &config.token_auth_file {
            None => StaticTokens::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                    operation: "read token file",
                    path: path.clone(),
                    source,
                })?;
                StaticTokens::parse(&text).map_err(|line| Error::TokenFile {
                    path: path.clone(),
                    line,
                })?
            }
        };
        let advertise = config
            .advertise_address
            .unwrap_or(if config.bind.is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                config.bind
            });
        let advertise_address = SocketAddr::new(advertise, local_addr.port()).to_string();
        crate::seed::publish_cluster_info(
            &store,
            &pki.ca_data_base64(),
            &format!("https://{advertise_address}"),
        )
        .await?;
        // A loopback address is not published: pods could not reach it.
        let endpoints = if advertise.is_loopback() || advertise.is_unspecified() {
            None
        } else {
            let identity = format!(
                "{}_{}",
                host_name().unwrap_or_else(|| "clusterd".into()),
                std::process::id()
            );
            let reconciler = EndpointReconciler::new(
                store.clone(),
                SocketAddr::new(advertise, local_addr.port()),
                identity,
                config.endpoint_lease_duration,
            );
            reconciler.reconcile().await?;
            Some(Arc::new(reconciler))
        };
        let state = Arc::new(ApiState::new(
            store,
            signer,
            static_tokens,
            DEFAULT_SERVICE_CIDR.to_owned(),
            advertise_address.clone(),
        ));
        state.set_node_client(crate::node_client::NodeClient::from_pki(&pki)?);
        crate::handlers::register_metrics_api(&state);
        let revision = crate::rbac_sync::load(&state)
            .await
            .map_err(|source| Error::Store {
                operation: "load rbac".into(),
                source,
            })?;
        tokio::spawn(crate::rbac_sync::follow(state.clone(), revision));
        state.reload_crds(None).await;
        let kubeconfig = config.kubeconfig_path();
        write_admin_kubeconfig(
            &pki,
            &kubeconfig,
            &format!("https://{advertise_address}"),
            &config.cluster_name,
        )?;
        let acceptor = TlsAcceptor::from(Arc::new(crate::tls::server_config(&pki)?));
        tracing::info!(addr = %local_addr, datastore = %url, kubeconfig = %kubeconfig.display(), "api server listening");
        Ok(Self {
            state,
            listener,
            acceptor,
            local_addr,
            kubeconfig,
            endpoints,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The admin kubeconfig written at start.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The shared state (for in-process callers such as controllers and tests).
    pub fn state(&self) -> Arc<ApiState> {
        self.state.clone()
    }

    /// Serves HTTPS until `shutdown` completes, then lets open requests finish (watches get a few
    /// seconds) and closes the store.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        let renewal = self
            .endpoints
            .clone()
            .map(|endpoints| tokio::spawn(endpoints.run()));
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept");
                            continue;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = self.acceptor.clone();
                    let state = self.state.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "tls handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let user = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|certs| certs.first())
                            .and_then(|cert| user_from_certificate(cert.as_ref()))
                            .map(Arc::new);
                        let service = service_fn(move |request| {
                            let state = state.clone();
                            let user = user.clone();
                            async move { Ok::<_, Infallible>(crate::handlers::handle(state, user, request).await) }
                        });
                        let mut builder = auto::Builder::new(TokioExecutor::new());
                        builder.http1().timer(TokioTimer::new());
                        builder.http2().timer(TokioTimer::new());
                        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                        if let Err(e) = watcher.watch(connection.into_owned()).await {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                    });
                }
            }
        }
        tracing::info!("shutting down");
        drop(self.listener);
        if let (Some(renewal), Some(endpoints)) = (renewal, &self.endpoints) {
            renewal.abort();
            if let Err(error) = endpoints.remove().await {
                tracing::warn!(%error, "could not remove this server from the kubernetes endpoints");
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::info!("closing long-running requests");
        }
        self.state
            .store
            .close()
            .await
            .map_err(|source| Error::Store {
                operation: "close datastore".into(),
                source,
            })
    }
}

/// Writes the `kubernetes-admin` kubeconfig for `server` (mode 0600).
fn write_admin_kubeconfig(
    pki: &ClusterPki,
    path: &Path,
    server: &str,
    cluster: &str,
) -> Result<()> {
    let entry = Entry::new(
        cluster,
        Cluster::new(server, pki.ca_cert_pem().as_bytes()),
        User::client_certificate(
            pki.admin().cert_pem().as_bytes(),
            pki.admin().key_pem().as_bytes(),
        ),
    );
    let text = render_standalone(&entry).map_err(|source| Error::Kubeconfig {
        path: path.to_owned(),
        source,
    })?;
    write_file(path, &text).map_err(|source| Error::Kubeconfig {
        path: path.to_owned(),
        source,
    })
}
