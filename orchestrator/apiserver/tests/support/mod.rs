//! A real API server on 127.0.0.1:<random port> with a temp data dir, and the real kubectl
//! binaries driven against its admin kubeconfig.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;

use std::sync::Arc;

use clusterd_apiserver::state::ApiState;
use clusterd_apiserver::{ApiServer, ServerConfig};
use tokio::sync::oneshot;

/// A running server; stopped when dropped.
pub struct TestServer {
    /// The data directory (PKI, database, admin.kubeconfig).
    pub dir: tempfile::TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The server's shared state (store, registry, RBAC).
    pub state: Arc<ApiState>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on its own runtime thread.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts a server whose configuration `adjust` changes first.
    pub fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new(dir.path());
        adjust(&mut config);
        config.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
        config.port = 0;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let server = ApiServer::start(&config).await.expect("start api server");
                ready_tx
                    .send((
                        server.local_addr(),
                        server.kubeconfig_path().to_owned(),
                        server.state(),
                    ))
                    .expect("report address");
                server
                    .serve(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let (addr, kubeconfig, state) = ready_rx.recv().expect("server started");
        Self {
            dir,
            addr,
            kubeconfig,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A kubectl of `binary` against this server, with its own discovery cache.
    pub fn kubectl(&self, binary: &Path) -> Kubectl {
        let cache = self.dir.path().join(format!(
            "cache-{}",
            binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        Kubectl {
            binary: binary.to_owned(),
            kubeconfig: self.kubeconfig.clone(),
            cache,
        }
    }

    /// A path inside the data dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The kubectl on PATH (v1.32), or `None` with a message saying the test is skipped.
pub fn kubectl_binary() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/kubectl");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: /usr/bin/kubectl is not installed");
        None
    }
}

/// A versioned kubectl (`kubectl.1.27`) next to kubectl's resolved path, if present.
pub fn versioned_kubectl(version: &str) -> Option<PathBuf> {
    let resolved = std::fs::canonicalize(kubectl_binary()?).ok()?;
    let path = resolved.parent()?.join(format!("kubectl.{version}"));
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} is not installed", path.display());
        None
    }
}

/// A versioned kubectl (`kubectl.1.37`) next to kubectl's resolved path or anywhere on PATH (where
/// `scripts/setup` puts the ones it installs from PyPI), if present.
pub fn versioned_kubectl_anywhere(version: &str) -> Option<PathBuf> {
    let name = format!("kubectl.{version}");
    let beside = std::fs::canonicalize("/usr/bin/kubectl")
        .ok()
        .and_then(|resolved| Some(resolved.parent()?.join(&name)));
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(&name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = beside
        .into_iter()
        .chain(on_path)
        .chain([PathBuf::from("/usr/local/bin").join(&name)])
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        eprintln!("SKIPPED: {name} is not installed (scripts/setup installs it)");
    }
    found
}

/// Runs one kubectl binary against a server.
#[derive(Debug, Clone)]
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    /// The same kubectl with another kubeconfig.
    pub fn with_kubeconfig(&self, kubeconfig: &Path) -> Self {
        Self {
            kubeconfig: kubeconfig.to_owned(),
            cache: self.cache.with_extension("other"),
            ..self.clone()
        }
    }

    /// The command, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs and returns the output, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    /// Runs, requires success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {} failed: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs, requires failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "kubectl {} unexpectedly succeeded",
            args.join(" ")
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The whitespace-separated words of the first line of `text`.
pub fn header(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A kube-rs client with the credentials of `kubeconfig` (the admin kubeconfig of a test server).
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// Polls `check` every 200 ms until it gives a value; fails the test after `timeout`.
pub fn wait_for(
    timeout: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> Option<String>,
) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
