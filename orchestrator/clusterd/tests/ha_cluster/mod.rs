//! The HA test cluster: etcd over TLS, test addresses on `lo`, `clusterd server` processes with
//! short lease timings, and kubectl against each of them.

#[path = "../../../store/tests/support/etcd_server.rs"]
#[allow(dead_code)]
pub mod etcd_server;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_server::EtcdServer;

/// `--leader-elect-lease-duration` of the test servers.
pub const LEASE: Duration = Duration::from_secs(4);
/// `--leader-elect-retry-period` of the test servers.
pub const RETRY: Duration = Duration::from_millis(250);
/// `--endpoint-lease-duration` of the test servers.
pub const ENDPOINT_LEASE: Duration = Duration::from_secs(5);
/// Time for kubectl round trips and a busy machine on top of the lease timings.
pub const SLACK: Duration = Duration::from_secs(3);
/// The longest wait for anything that has no tighter bound.
pub const WAIT: Duration = Duration::from_secs(60);

/// Runs `command`, asserting success; its trimmed stdout.
pub fn run(command: &mut Command) -> String {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// What the test needs, or why it is skipped.
pub fn missing_prerequisite() -> Option<String> {
    if EtcdServer::binary().is_none() {
        return Some("etcd is not installed (apt-get install -y etcd-server)".into());
    }
    for tool in ["/usr/bin/kubectl", "/usr/bin/openssl"] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is not installed"));
        }
    }
    let uid = run(Command::new("id").arg("-u"));
    (uid != "0").then(|| "adding test addresses to lo needs root".into())
}

/// Two addresses on `lo` that are not loopback addresses (so the API servers publish them as
/// the `kubernetes` endpoints), removed when dropped.
pub struct TestAddresses(pub Vec<Ipv4Addr>);

impl TestAddresses {
    pub fn add() -> Self {
        // 198.18.0.0/15 is for benchmarks; the process id keeps parallel runs apart.
        let third = (std::process::id() % 250) as u8;
        let addresses = TestAddresses(vec![
            Ipv4Addr::new(198, 18, third, 11),
            Ipv4Addr::new(198, 18, third, 12),
        ]);
        for ip in &addresses.0 {
            let _ = Command::new("ip")
                .args(["addr", "del", &format!("{ip}/32"), "dev", "lo"])
                .stderr(Stdio::null())
                .status();
            run(Command::new("ip").args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]));
        }
        addresses
    }
}

impl Drop for TestAddresses {
    fn drop(&mut self) {
        for ip in &self.0 {
            let _ = Command::new("ip")
                .args(["addr", "del", &format!("{ip}/32"), "dev", "lo"])
                .status();
        }
    }
}

/// A port free on every address.
pub fn free_port(addresses: &[Ipv4Addr]) -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind((addresses[0], 0)).expect("bind a free port");
        let port = first.local_addr().expect("local address").port();
        if addresses[1..]
            .iter()
            .all(|ip| TcpListener::bind((*ip, port)).is_ok())
        {
            return port;
        }
    }
    panic!("no port free on all of {addresses:?}");
}

/// etcd's CA, its serving certificate for 127.0.0.1 and a client certificate, made by openssl.
pub fn make_etcd_pki(dir: &Path) {
    let openssl = |line: &str| {
        let args: Vec<&str> = line.split_whitespace().collect();
        run(Command::new("openssl").args(args).current_dir(dir));
    };
    openssl(
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ha-etcd-ca",
    );
    for (name, usage, san) in [
        (
            "server",
            "serverAuth,clientAuth",
            "subjectAltName=IP:127.0.0.1\n",
        ),
        ("client", "clientAuth", ""),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("{san}extendedKeyUsage={usage}\n"),
        )
        .expect("write openssl extensions");
        openssl(&format!(
            "req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj /CN={name}"
        ));
        openssl(&format!(
            "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out {name}.crt -days 2 -extfile {name}.ext"
        ));
    }
}

/// A `clusterd server` process, killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub dir: PathBuf,
    pub ip: Ipv4Addr,
}

impl Server {
    /// Starts a server on `ip:port` over `datastore` without waiting for it.
    pub fn spawn(dir: &Path, ip: Ipv4Addr, port: u16, datastore: &str) -> Server {
        std::fs::create_dir_all(dir).expect("create data dir");
        let log = std::fs::File::create(dir.join("server.log")).expect("create server log");
        let seconds = |d: Duration| format!("{}ms", d.as_millis());
        let child = Command::new(env!("CARGO_BIN_EXE_clusterd"))
            .arg("server")
            .arg("--data-dir")
            .arg(dir)
            .args(["--bind", &ip.to_string(), "--port", &port.to_string()])
            .args(["--advertise-address", &ip.to_string()])
            .args(["--datastore", datastore, "--disable-agent"])
            .args(["--leader-elect-lease-duration", &seconds(LEASE)])
            .args(["--leader-elect-renew-deadline", "3s"])
            .args(["--leader-elect-retry-period", &seconds(RETRY)])
            .args(["--endpoint-lease-duration", &seconds(ENDPOINT_LEASE)])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start clusterd server");
        Server {
            child: Some(child),
            dir: dir.to_path_buf(),
            ip,
        }
    }

    /// Starts a server and waits until it answers `/readyz` through its admin kubeconfig.
    pub fn start(dir: &Path, ip: Ipv4Addr, port: u16, datastore: &str) -> Server {
        let mut server = Server::spawn(dir, ip, port, datastore);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("clusterd server exited with {status}:\n{}", server.log());
            }
            if server.dir.join("admin.kubeconfig").exists()
                && server.try_kubectl(&["get", "--raw", "/readyz"]).is_ok()
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "server not ready:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts a server that must exit with an error; returns its log.
    pub fn refused(dir: &Path, ip: Ipv4Addr, port: u16, datastore: &str) -> String {
        let mut server = Server::spawn(dir, ip, port, datastore);
        let mut child = server.child.take().expect("started");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for clusterd server") {
                assert!(!status.success(), "clusterd server exited successfully");
                return server.log();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("clusterd server was not refused:\n{}", server.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id (0 once stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// kubectl with this server's admin kubeconfig: stdout, or stderr on failure.
    pub fn try_kubectl(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new("/usr/bin/kubectl")
            .arg("--kubeconfig")
            .arg(self.dir.join("admin.kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.join("kubectl-cache"))
            .args(["--request-timeout", "5s"])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// [`try_kubectl`](Self::try_kubectl) that must succeed.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.try_kubectl(args)
            .unwrap_or_else(|e| panic!("kubectl {args:?} against {}: {e}", self.ip))
    }

    /// The process id in the holder identity (`<host>_<pid>_<suffix>`) of lease `name`.
    pub fn lease_holder_pid(&self, name: &str) -> Option<u32> {
        let holder = self
            .try_kubectl(&[
                "get",
                "lease",
                "-n",
                "kube-system",
                name,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            .ok()?;
        holder.rsplit('_').nth(1)?.parse().ok()
    }

    /// The addresses of the `kubernetes` Endpoints, space-separated.
    pub fn kubernetes_endpoints(&self) -> String {
        self.try_kubectl(&[
            "get",
            "endpoints",
            "kubernetes",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ])
        .unwrap_or_default()
    }

    /// Sends `signal` (`-TERM`, `-9`) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        run(Command::new("kill").args([signal, &pid]));
    }

    /// Waits for the server to exit and asserts it exited successfully.
    pub fn wait_clean_exit(&mut self) {
        let mut child = self.child.take().expect("server running");
        let status = child.wait().expect("wait for clusterd server");
        assert!(
            status.success(),
            "exit after SIGTERM: {status}\n{}",
            self.log()
        );
    }

    /// `kill -9` and reap.
    pub fn kill_9(&mut self) {
        self.signal("-9");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` every 100 ms until it gives a value; panics naming `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
