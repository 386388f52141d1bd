//! The clusterd cluster DNS: Services and pods under cluster.local, served on every node.
//!
//! Every agent runs [`run`]: it holds the cluster DNS address (10.96.0.10) on a dummy interface
//! of the node, or on `lo` where the kernel has no dummy links ([`interface`]), follows Services
//! and EndpointSlices ([`zone_watch`]) into an in-memory [`zone::Zone`], answers the cluster zone
//! from it over UDP and TCP with hickory-server ([`handler`]) and forwards every other name to
//! the node's own resolvers ([`forward`]). Pods reach it through [`pod_resolv_conf`].

pub mod config;
pub mod forward;
pub mod handler;
pub mod interface;
pub mod zone;
pub mod zone_watch;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use hickory_server::ServerFuture;
use tokio::sync::watch;

pub use config::{pod_resolv_conf, DnsConfig, CLUSTER_DNS_IP, CLUSTER_DOMAIN, INTERFACE};
pub use handler::DnsHandler;
pub use interface::{remove_interface, setup_interface};
pub use zone::Zone;

/// How long a TCP client may stay silent before its connection is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// What can go wrong in the cluster DNS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listen address cannot be bound.
    #[error("cannot listen for DNS on {protocol} {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// `udp` or `tcp`.
        protocol: &'static str,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// An external command (the `ip` tool) failed.
    #[error("{command}: {output}")]
    Command {
        /// The command line, pasteable into a shell.
        command: String,
        /// Its stderr (or why it did not start).
        output: String,
    },
    /// No upstream resolver answered a forwarded question.
    #[error("no upstream answer for {name}: {reason}")]
    Upstream {
        /// The name asked.
        name: String,
        /// Each resolver's failure.
        reason: String,
    },
    /// A setting does not make sense.
    #[error("invalid {field} {value:?}: {reason}")]
    Config {
        /// Which setting.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The DNS server stopped with an error.
    #[error("dns server failed: {0}")]
    Server(String),
}

/// Result of DNS operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The sockets the server answers on: UDP and TCP on every listen address, bound in the network
/// namespace of the thread that called [`Listeners::bind`] (they stay there whichever thread
/// serves them).
#[derive(Debug)]
pub struct Listeners {
    udp: Vec<std::net::UdpSocket>,
    tcp: Vec<std::net::TcpListener>,
}

impl Listeners {
    /// Binds UDP and TCP on every address of `addrs`.
    pub fn bind(addrs: &[SocketAddr]) -> Result<Listeners> {
        let mut listeners = Listeners {
            udp: Vec::new(),
            tcp: Vec::new(),
        };
        for addr in addrs {
            let bind_error = |protocol| {
                move |source| Error::Bind {
                    addr: *addr,
                    protocol,
                    source,
                }
            };
            let udp = std::net::UdpSocket::bind(addr).map_err(bind_error("udp"))?;
            udp.set_nonblocking(true).map_err(bind_error("udp"))?;
            let tcp = std::net::TcpListener::bind(addr).map_err(bind_error("tcp"))?;
            tcp.set_nonblocking(true).map_err(bind_error("tcp"))?;
            listeners.udp.push(udp);
            listeners.tcp.push(tcp);
        }
        Ok(listeners)
    }
}

fn check_domain(domain: &str) -> Result<Name> {
    let invalid = |reason: String| Error::Config {
        field: "cluster domain",
        value: domain.to_owned(),
        reason,
    };
    let apex = Name::from_ascii(domain).map_err(|e| invalid(e.to_string()))?;
    if Zone::empty(domain).is_none() {
        return Err(invalid("not a domain name".into()));
    }
    Ok(apex)
}

/// Serves the cluster DNS until `shutdown` completes: sets up the interface (when
/// `cfg.setup_interface`), binds UDP and TCP on every listen address and [`serve`]s.
pub async fn run(
    client: kube::Client,
    cfg: DnsConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    check_domain(&cfg.domain)?;
    if cfg.setup_interface {
        let prefix = cfg.command_prefix.clone();
        let addresses: Vec<_> = cfg.listen.iter().map(SocketAddr::ip).collect();
        let device =
            tokio::task::spawn_blocking(move || setup_interface(&prefix, INTERFACE, &addresses))
                .await
                .map_err(|e| Error::Server(format!("interface setup task: {e}")))??;
        tracing::info!(%device, "cluster DNS addresses are on the node");
    }
    let listeners = Listeners::bind(&cfg.listen)?;
    serve(client, cfg, listeners, shutdown).await
}

/// Answers on `listeners` until `shutdown` completes, following Services and EndpointSlices
/// through `client`. Names under the cluster domain get SERVFAIL until the first list has
/// arrived; `cfg.listen` and `cfg.setup_interface` are not used here.
pub async fn serve(
    client: kube::Client,
    cfg: DnsConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let apex = check_domain(&cfg.domain)?;
    let (zone_tx, zone_rx) = watch::channel(None);
    let handler = DnsHandler::new(apex, zone_rx, cfg.upstreams.clone(), cfg.upstream_timeout);
    let mut server = ServerFuture::new(handler);
    let mut addrs = Vec::new();
    for udp in listeners.udp {
        addrs.extend(udp.local_addr().ok());
        server
            .register_socket_std(udp)
            .map_err(|e| Error::Server(format!("register a UDP socket: {e}")))?;
    }
    for tcp in listeners.tcp {
        server
            .register_listener_std(tcp, TCP_IDLE)
            .map_err(|e| Error::Server(format!("register a TCP listener: {e}")))?;
    }
    tracing::info!(listen = ?addrs, domain = %cfg.domain, upstreams = ?cfg.upstreams, "cluster DNS serving");
    let follow = zone_watch::follow_zone(client, cfg.domain.clone(), zone_tx);
    let result = tokio::select! {
        _ = shutdown => Ok(()),
        _ = follow => Err(Error::Server("the Service and EndpointSlice watches ended".into())),
        done = server.block_until_done() => done.map_err(|e| Error::Server(e.to_string())),
    };
    let _ = server.shutdown_gracefully().await;
    result
}
