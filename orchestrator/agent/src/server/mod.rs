//! The agent's HTTPS API on the kubelet port (10250), which only the API server may call:
//! container logs, exec, attach, port-forward, stats and health. The API server proxies `kubectl logs`, `exec` and
//! `top` here (see `clusterd-apiserver`'s node proxy).
//!
//! | path | what |
//! |---|---|
//! | `GET /healthz` | `ok` |
//! | `GET /containerLogs/{ns}/{pod}/{container}` | the CRI log (`follow`, `previous`, `tailLines`, `timestamps`, `sinceSeconds`, `sinceTime`, `limitBytes`) |
//! | `GET /exec/{ns}/{pod}/{container}?command=..` | WebSocket `v5.channel.k8s.io` (or `v4`) exec |
//! | `GET /stats/summary` | CPU and memory of the pods' containers, from CRI stats |
//! | `GET /attach/{ns}/{pod}/{container}` | WebSocket attach, relayed to the runtime's streaming server |
//! | `GET /portForward/{ns}/{pod}` | WebSocket-tunnelled SPDY port-forward to the pod's IP |

mod attach;
mod auth;
mod body;
mod exec;
mod logs;
mod lookup;
mod portforward;
mod spdy;
mod stats;
mod status;
mod websocket;

pub use auth::{is_api_server_identity, API_SERVER_KUBELET_CLIENT};
pub use body::Body;
pub use lookup::{ContainerLookup, ContainerRef, CriContainerLookup, PreviousContainer};
pub use stats::{ContainerUsage, PodUsage, StatsSummary};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clusterd_cri::Runtime;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The kubelet port, where the API server expects the agent's API.
pub const DEFAULT_PORT: u16 = 10250;

/// How the agent's API is served.
#[derive(Clone)]
pub struct AgentServerConfig {
    /// The address to listen on (`0.0.0.0:10250` normally; port 0 picks one, for tests).
    pub bind: SocketAddr,
    /// The agent's serving certificate chain (PEM), issued by the cluster CA for the node's
    /// name and addresses.
    pub serving_cert_pem: String,
    /// Its private key (PEM).
    pub serving_key_pem: String,
    /// The cluster CA (PEM) that client certificates must chain to.
    pub client_ca_pem: String,
}

impl std::fmt::Debug for AgentServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentServerConfig")
            .field("bind", &self.bind)
            .finish_non_exhaustive()
    }
}

/// Why the agent's API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The certificates or key could not be used.
    #[error("agent api tls: {reason}")]
    Tls {
        /// What was wrong.
        reason: String,
    },
    /// The port could not be bound.
    #[error("agent api: bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// A bound agent API, not yet serving.
pub struct AgentServer {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for AgentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// What every request handler reaches.
struct Shared<R, L> {
    runtime: R,
    lookup: L,
}

impl AgentServer {
    /// Builds the TLS configuration and binds the port.
    pub async fn bind(config: &AgentServerConfig) -> Result<Self, ServerError> {
        let acceptor = TlsAcceptor::from(Arc::new(auth::tls_config(config)?));
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        Ok(Self {
            listener,
            acceptor,
            local_addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes; open streams end with the process.
    pub async fn serve<R, L>(self, runtime: R, lookup: L, shutdown: impl Future<Output = ()>)
    where
        R: Runtime + Clone + 'static,
        L: ContainerLookup,
    {
        let shared = Arc::new(Shared { runtime, lookup });
        tokio::pin!(shutdown);
        tracing::info!(addr = %self.local_addr, "agent api listening");
        loop {
            let (tcp, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "agent api accept");
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = self.acceptor.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::info!(%peer, error = %e, "agent api tls handshake refused");
                        return;
                    }
                    Err(_) => return,
                };
                let identity = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .map(|cert| auth::Identity::from_der(cert.as_ref()));
                let identity = Arc::new(identity);
                let service = service_fn(move |request| {
                    let shared = shared.clone();
                    let identity = identity.clone();
                    async move {
                        Ok::<_, Infallible>(
                            handle(&shared, identity.as_ref().as_ref(), request).await,
                        )
                    }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http1().timer(TokioTimer::new());
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "agent api connection ended");
                }
            });
        }
        tracing::info!("agent api stopped");
    }
}

/// Binds `config.bind` and serves the agent's API until `shutdown` completes.
pub async fn serve<R, L>(
    config: AgentServerConfig,
    runtime: R,
    lookup: L,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError>
where
    R: Runtime + Clone + 'static,
    L: ContainerLookup,
{
    AgentServer::bind(&config)
        .await?
        .serve(runtime, lookup, shutdown)
        .await;
    Ok(())
}

async fn handle<R, L>(
    shared: &Shared<R, L>,
    identity: Option<&auth::Identity>,
    request: Request<Incoming>,
) -> Response<Body>
where
    R: Runtime + Clone + 'static,
    L: ContainerLookup,
{
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if let Err(refusal) = auth::authorize(identity) {
        tracing::info!(%path, reason = %refusal, "agent api request refused");
        return status::forbidden(&refusal);
    }
    let query = request.uri().query().unwrap_or_default().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    tracing::debug!(%method, %path, "agent api request");
    match (&method, segments.as_slice()) {
        (&Method::GET, ["healthz"]) => body::text(200, "ok"),
        (&Method::GET, ["containerLogs", ns, pod, container]) => {
            logs::container_logs(&shared.runtime, &shared.lookup, ns, pod, container, &query).await
        }
        (&Method::GET | &Method::POST, ["exec", ns, pod, container]) => {
            let Some(found) = shared.lookup.container(ns, pod, container).await else {
                return status::container_not_found(ns, pod, container);
            };
            exec::exec(&shared.runtime, &found.container_id, &query, request)
        }
        (&Method::GET | &Method::POST, ["attach", ns, pod, container]) => {
            let Some(found) = shared.lookup.container(ns, pod, container).await else {
                return status::container_not_found(ns, pod, container);
            };
            attach::attach(&shared.runtime, &found.container_id, &query, request).await
        }
        (&Method::GET | &Method::POST, ["portForward", ns, pod]) => {
            portforward::port_forward(&shared.lookup, ns, pod, request).await
        }
        (&Method::GET, ["stats", "summary"]) => stats::summary(&shared.runtime).await,
        _ => status::not_found(&format!("the agent does not serve {method} {path}")),
    }
}
