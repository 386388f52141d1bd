//! A real etcd server on random local ports with a temporary data directory, for tests and the
//! benchmark. Install etcd with `apt-get install -y etcd-server`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// TLS files for an etcd that serves HTTPS and requires client certificates.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A running etcd; killed when dropped.
#[derive(Debug)]
pub struct EtcdServer {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    tls: Option<ServerTls>,
}

impl EtcdServer {
    /// The etcd binary on PATH, if installed.
    pub fn binary() -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join("etcd"))
            .find(|candidate| candidate.is_file())
    }

    /// Starts etcd, or returns `None` (after saying how to install it) if it is not installed.
    pub fn start() -> Option<Self> {
        Self::start_with_tls(None)
    }

    /// Starts etcd serving HTTPS with `tls` if given.
    pub fn start_with_tls(tls: Option<ServerTls>) -> Option<Self> {
        if Self::binary().is_none() {
            eprintln!(
                "SKIPPED: the etcd binary is not installed; install it with `apt-get install -y etcd-server`"
            );
            return None;
        }
        // A free port can be taken by a parallel test between our probe and etcd's bind: start
        // over on new ports (and a fresh data directory) when that happens.
        let mut attempt = 0;
        loop {
            let mut server = Self {
                child: None,
                data_dir: tempfile::tempdir().expect("create etcd data dir"),
                client_port: free_port(),
                peer_port: free_port(),
                tls: tls.clone(),
            };
            match server.try_spawn() {
                Ok(()) => return Some(server),
                Err(log) if attempt < 5 && log.contains("address already in use") => attempt += 1,
                Err(log) => panic!("{log}"),
            }
        }
    }

    /// The client URL, e.g. `http://127.0.0.1:34567`.
    pub fn client_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// `host:port` of the client listener.
    pub fn client_address(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// Where etcd keeps its data.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Kills etcd and starts it again on the same data and ports.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("{log}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        let data = self.data_dir.path().join("data");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.path().join("etcd.log"))
            .expect("open etcd log");
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let client = self.client_url();
        let mut command = Command::new("etcd");
        command
            .arg("--name=test")
            .arg(format!("--data-dir={}", data.display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert.display()))
                .arg(format!("--key-file={}", tls.key.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca.display()))
                .arg("--client-cert-auth");
        }
        self.child = Some(command.spawn().expect("start etcd"));
        self.wait_listening()
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(self.client_address()).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("etcd exited with {status}; log:\n{}", self.log()));
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not listen within 30s; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// etcd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("etcd.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port")
}
