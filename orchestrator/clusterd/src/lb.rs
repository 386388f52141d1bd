//! `clusterd lb`: the TCP load balancer in front of several API servers (an HA cluster's one
//! endpoint). It passes TLS through untouched — clients verify the servers' certificates and the
//! servers see the clients' certificates — and sends each new connection to the next backend that
//! accepts one, skipping backends whose health check (a TCP connect every `check_every`) failed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::process::ExitCode;

use clap::Args;
use tokio::net::{TcpListener, TcpStream};

/// `clusterd lb` flags.
#[derive(Debug, Args)]
pub struct LbArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:6443")]
    listen: SocketAddr,
    /// A backend API server, ADDRESS:PORT (repeatable, at least one).
    #[arg(long = "backend", required = true)]
    backends: Vec<SocketAddr>,
    /// How often each backend is checked with a TCP connect, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    check_interval_ms: u64,
}

/// Runs the balancer until the process is stopped.
pub fn run(args: LbArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("clusterd lb: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("clusterd lb: listen on {}: {e}", args.listen);
                return ExitCode::from(1);
            }
        };
        tracing::info!(listen = %args.listen, backends = ?args.backends, "starting clusterd lb");
        let balancer = Arc::new(Balancer::new(args.backends));
        tokio::spawn(
            balancer
                .clone()
                .check_health(Duration::from_millis(args.check_interval_ms.max(100))),
        );
        tokio::select! {
            result = balancer.serve(listener) => match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("clusterd lb: accept on {}: {e}", args.listen);
                    ExitCode::from(1)
                }
            },
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        }
    })
}

/// How long a connect to a backend may take before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One backend and whether its last health check succeeded.
#[derive(Debug)]
struct Backend {
    address: SocketAddr,
    healthy: AtomicBool,
}

/// The balancer's backends, tried round robin from a moving start.
#[derive(Debug)]
pub struct Balancer {
    backends: Vec<Backend>,
    next: AtomicUsize,
}

impl Balancer {
    /// A balancer over `backends` (all assumed healthy until checked).
    pub fn new(backends: Vec<SocketAddr>) -> Self {
        Self {
            backends: backends
                .into_iter()
                .map(|address| Backend {
                    address,
                    healthy: AtomicBool::new(true),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The backends in the order a new connection tries them: healthy ones round robin, then the
    /// unhealthy ones (a check may be stale; trying them beats refusing the client).
    fn order(&self) -> Vec<SocketAddr> {
        let count = self.backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let rotated = (0..count).map(|i| &self.backends[(start + i) % count]);
        let (healthy, unhealthy): (Vec<_>, Vec<_>) =
            rotated.partition(|b| b.healthy.load(Ordering::Relaxed));
        healthy
            .into_iter()
            .chain(unhealthy)
            .map(|b| b.address)
            .collect()
    }

    fn mark(&self, address: SocketAddr, healthy: bool) {
        for backend in self.backends.iter().filter(|b| b.address == address) {
            let was = backend.healthy.swap(healthy, Ordering::Relaxed);
            if was != healthy {
                tracing::info!(backend = %address, healthy, "backend health changed");
            }
        }
    }

    /// A connection to the first backend in [`Self::order`] that accepts one.
    async fn connect(&self) -> Option<(SocketAddr, TcpStream)> {
        for address in self.order() {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    self.mark(address, true);
                    return Some((address, stream));
                }
                Ok(Err(error)) => {
                    tracing::debug!(backend = %address, %error, "connect failed");
                    self.mark(address, false);
                }
                Err(_) => {
                    tracing::debug!(backend = %address, "connect timed out");
                    self.mark(address, false);
                }
            }
        }
        None
    }

    /// Checks every backend with a TCP connect every `every`, forever.
    pub async fn check_health(self: Arc<Self>, every: Duration) {
        loop {
            for backend in &self.backends {
                let up = matches!(
                    tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(backend.address))
                        .await,
                    Ok(Ok(_))
                );
                self.mark(backend.address, up);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Accepts connections on `listener` and splices each to a backend, forever.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (mut client, peer) = listener.accept().await?;
            let balancer = self.clone();
            tokio::spawn(async move {
                let Some((backend, mut upstream)) = balancer.connect().await else {
                    tracing::warn!(%peer, "no backend accepts connections; closing the client's");
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                {
                    tracing::debug!(%peer, %backend, %error, "connection ended");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A backend that answers every connection with `name` and closes it.
    async fn named_backend(name: &'static str) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(name.as_bytes()).await;
            }
        });
        (address, task)
    }

    async fn ask(address: SocketAddr) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn connections_rotate_over_backends_and_skip_a_dead_one() {
        let (a, _task_a) = named_backend("a").await;
        let (b, task_b) = named_backend("b").await;
        let balancer = Arc::new(Balancer::new(vec![a, b]));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front = listener.local_addr().unwrap();
        tokio::spawn(balancer.clone().serve(listener));

        let mut answers = Vec::new();
        for _ in 0..4 {
            answers.push(ask(front).await);
        }
        answers.sort();
        assert_eq!(answers, ["a", "a", "b", "b"], "round robin over both");

        task_b.abort();
        let _ = task_b.await;
        for _ in 0..4 {
            assert_eq!(
                ask(front).await,
                "a",
                "b is gone: every connection goes to a"
            );
        }
        assert!(
            !balancer.backends[1].healthy.load(Ordering::Relaxed),
            "a refused connect marks the backend unhealthy"
        );
    }

    #[tokio::test]
    async fn the_health_check_brings_a_backend_back() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let balancer = Arc::new(Balancer::new(vec![address]));
        balancer.mark(address, false);
        tokio::spawn(balancer.clone().check_health(Duration::from_millis(20)));
        for _ in 0..100 {
            if balancer.backends[0].healthy.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the health check did not mark the listening backend healthy");
    }
}
