//! Supervision of the node's containerd: its config file, and starting it when nothing answers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::cri_runtime::CriRuntime;
use crate::error::shell_line;
use crate::runtime::Runtime;
use crate::{Error, Result};

/// Where and how the node's containerd runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerdConfig {
    /// The `containerd` executable.
    pub binary: PathBuf,
    /// The `ctr` executable, used to import image archives.
    pub ctr: PathBuf,
    /// Persistent data: images, snapshots, container metadata.
    pub root: PathBuf,
    /// Runtime state: tasks, shim sockets, sandbox files.
    pub state: PathBuf,
    /// The gRPC (and CRI) socket.
    pub socket: PathBuf,
    /// Where the generated config.toml is written.
    pub config_file: PathBuf,
    /// containerd's stdout and stderr.
    pub log_file: PathBuf,
    /// The pause image every pod sandbox runs; must already be imported (nothing is pulled).
    pub sandbox_image: String,
    /// Directory of the CNI plugin binaries.
    pub cni_bin_dir: PathBuf,
    /// Directory containerd reads CNI conflists from.
    pub cni_conf_dir: PathBuf,
    /// Per-registry `hosts.toml` mirror configuration (`<registry>/hosts.toml`).
    pub registry_config_dir: PathBuf,
    /// Snapshotter for image layers, `overlayfs` unless the filesystem cannot host it.
    pub snapshotter: String,
    /// Keep pods' OOM score adjustments at or above containerd's own; needed where this process
    /// lacks CAP_SYS_RESOURCE (in some VMs and containers), where lowering them fails.
    pub restrict_oom_score_adj: bool,
    /// The runc executable (`None`: `runc` from containerd's `PATH`).
    pub runc: Option<PathBuf>,
    /// Let runc manage cgroups through systemd; false on cgroup v1 hosts without systemd.
    pub systemd_cgroup: bool,
    /// How long to wait for the CRI service after starting containerd.
    pub ready_timeout: Duration,
}

impl ContainerdConfig {
    /// Keeps every file of this containerd under `dir` (root, state, socket, config, logs, CNI
    /// and registry config), with Debian's binaries and CNI plugins.
    pub fn under(dir: &Path, sandbox_image: &str) -> Self {
        ContainerdConfig {
            binary: PathBuf::from("containerd"),
            ctr: PathBuf::from("ctr"),
            root: dir.join("root"),
            state: dir.join("state"),
            socket: dir.join("containerd.sock"),
            config_file: dir.join("config.toml"),
            log_file: dir.join("containerd.log"),
            sandbox_image: sandbox_image.to_owned(),
            cni_bin_dir: PathBuf::from("/usr/lib/cni"),
            cni_conf_dir: dir.join("cni/net.d"),
            registry_config_dir: dir.join("certs.d"),
            snapshotter: "overlayfs".into(),
            systemd_cgroup: false,
            restrict_oom_score_adj: !may_lower_oom_scores(),
            runc: None,
            ready_timeout: Duration::from_secs(30),
        }
    }

    /// containerd's config.toml (format version 2, as containerd 1.6 and 1.7 read it).
    pub fn render(&self) -> String {
        let q = |p: &Path| toml_string(&p.display().to_string());
        let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
        let runc = match &self.runc {
            Some(path) => format!("  BinaryName = {}\n", q(path)),
            None => String::new(),
        };
        format!(
            "# Written by clusterd; changes are overwritten.\n\
             version = 2\n\
             root = {root}\n\
             state = {state}\n\
             disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\"]\n\
             \n\
             [grpc]\n  address = {socket}\n\
             \n\
             [{cri}]\n  sandbox_image = {sandbox}\n  restrict_oom_score_adj = {restrict_oom}\n\
             \n\
             [{cri}.containerd]\n  snapshotter = {snapshotter}\n  default_runtime_name = \"runc\"\n\
             \n\
             [{cri}.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
             \n\
             [{cri}.containerd.runtimes.runc.options]\n  SystemdCgroup = {systemd}\n  Root = {runc_root}\n{runc}\
             \n\
             [{cri}.cni]\n  bin_dir = {cni_bin}\n  conf_dir = {cni_conf}\n  max_conf_num = 1\n\
             \n\
             [{cri}.registry]\n  config_path = {registry}\n",
            root = q(&self.root),
            state = q(&self.state),
            socket = q(&self.socket),
            sandbox = toml_string(&self.sandbox_image),
            snapshotter = toml_string(&self.snapshotter),
            systemd = self.systemd_cgroup,
            restrict_oom = self.restrict_oom_score_adj,
            runc_root = q(&self.state.join("runc")),
            cni_bin = q(&self.cni_bin_dir),
            cni_conf = q(&self.cni_conf_dir),
            registry = q(&self.registry_config_dir),
        )
    }
}

/// True when this process has CAP_SYS_RESOURCE, which lowering an OOM score adjustment needs.
fn may_lower_oom_scores() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A containerd that answers CRI calls, and the process if this handle started it.
///
/// Dropping the handle stops a containerd it started (SIGTERM, then SIGKILL after 10 s);
/// containers keep running in their shims either way.
#[derive(Debug)]
pub struct Containerd {
    config: ContainerdConfig,
    child: Option<Child>,
    runtime: CriRuntime,
}

impl Containerd {
    /// Returns a handle to the containerd on `config.socket`, writing `config.config_file` and
    /// starting `containerd --config` first if nothing answers there.
    pub async fn ensure(config: &ContainerdConfig) -> Result<Containerd> {
        if tokio::net::UnixStream::connect(&config.socket)
            .await
            .is_ok()
        {
            // Someone listens: a running containerd, maybe still loading its plugins. Never
            // replace a live socket; wait for CRI to answer instead.
            let runtime = wait_for_cri(config).await?;
            tracing::debug!(socket = %config.socket.display(), "containerd already running");
            return Ok(Containerd {
                config: config.clone(),
                child: None,
                runtime,
            });
        }
        write_files(config)?;
        let mut child = spawn(config)?;
        let runtime = match wait_until_answering(config, &mut child).await {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(e);
            }
        };
        tracing::info!(socket = %config.socket.display(), pid = child.id(), "containerd started");
        Ok(Containerd {
            config: config.clone(),
            child: Some(child),
            runtime,
        })
    }

    /// A CRI client on this containerd's socket, set up to import images with its snapshotter.
    pub fn runtime(&self) -> &CriRuntime {
        &self.runtime
    }

    /// The socket containerd serves.
    pub fn socket(&self) -> &Path {
        &self.config.socket
    }

    /// The process id, if this handle started containerd.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Stops containerd if this handle started it, waiting for it to exit.
    pub async fn shutdown(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        terminate(&child);
        let exited = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        if exited.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        tracing::info!(socket = %self.config.socket.display(), "containerd stopped");
        Ok(())
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        terminate(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.start_kill();
    }
}

fn terminate(child: &Child) {
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

/// A client whose Version call succeeds on the configured socket, if any.
async fn answering(config: &ContainerdConfig) -> Option<CriRuntime> {
    if !config.socket.exists() {
        return None;
    }
    let probe = async {
        let runtime = CriRuntime::connect(&config.socket).await.ok()?;
        let runtime = runtime
            .with_ctr(&config.ctr)
            .with_snapshotter(&config.snapshotter);
        runtime.version().await.ok().map(|_| runtime)
    };
    // A listener that never speaks HTTP/2 must not hang the probe.
    tokio::time::timeout(Duration::from_secs(2), probe)
        .await
        .ok()
        .flatten()
}

fn write_files(config: &ContainerdConfig) -> Result<()> {
    let create = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    };
    for dir in [
        &config.root,
        &config.state,
        &config.cni_conf_dir,
        &config.registry_config_dir,
    ] {
        create(dir)?;
    }
    for file in [&config.config_file, &config.log_file, &config.socket] {
        if let Some(parent) = file.parent() {
            create(parent)?;
        }
    }
    std::fs::write(&config.config_file, config.render()).map_err(|source| Error::Write {
        path: config.config_file.clone(),
        source,
    })?;
    // A socket nobody answers on is left over from a crash; containerd cannot bind over it.
    match std::fs::remove_file(&config.socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write {
            path: config.socket.clone(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn spawn(config: &ContainerdConfig) -> Result<Child> {
    let args = vec![
        "--config".to_owned(),
        config.config_file.display().to_string(),
    ];
    let command = shell_line(&config.binary.display().to_string(), &args);
    let log = |source| Error::Write {
        path: config.log_file.clone(),
        source,
    };
    let stdout = File::options()
        .create(true)
        .append(true)
        .open(&config.log_file)
        .map_err(log)?;
    let stderr = stdout.try_clone().map_err(log)?;
    Command::new(&config.binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| Error::Command {
            command,
            output: e.to_string(),
        })
}

async fn wait_for_cri(config: &ContainerdConfig) -> Result<CriRuntime> {
    let started = Instant::now();
    loop {
        if let Some(runtime) = answering(config).await {
            return Ok(runtime);
        }
        if started.elapsed() > config.ready_timeout {
            return Err(Error::NoCriOnSocket {
                socket: config.socket.clone(),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_answering(config: &ContainerdConfig, child: &mut Child) -> Result<CriRuntime> {
    let started = Instant::now();
    loop {
        if let Some(runtime) = answering(config).await {
            return Ok(runtime);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::ContainerdExited {
                config: config.config_file.clone(),
                socket: config.socket.clone(),
                status: status.to_string(),
                log: config.log_file.clone(),
                log_tail: log_tail(&config.log_file),
            });
        }
        if started.elapsed() > config.ready_timeout {
            return Err(Error::ContainerdNotReady {
                socket: config.socket.clone(),
                waited: started.elapsed(),
                log: config.log_file.clone(),
                log_tail: log_tail(&config.log_file),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keeps_every_path_under_the_chosen_dir_and_names_the_pause_image() {
        let config = ContainerdConfig::under(
            Path::new("/var/lib/clusterd/containerd"),
            "clusterd.local/pause:1",
        );
        let text = config.render();
        for line in [
            "root = \"/var/lib/clusterd/containerd/root\"",
            "state = \"/var/lib/clusterd/containerd/state\"",
            "address = \"/var/lib/clusterd/containerd/containerd.sock\"",
            "sandbox_image = \"clusterd.local/pause:1\"",
            "SystemdCgroup = false",
            "bin_dir = \"/usr/lib/cni\"",
            "conf_dir = \"/var/lib/clusterd/containerd/cni/net.d\"",
            "config_path = \"/var/lib/clusterd/containerd/certs.d\"",
            "runtime_type = \"io.containerd.runc.v2\"",
            "Root = \"/var/lib/clusterd/containerd/state/runc\"",
        ] {
            assert!(
                text.lines().any(|l| l.trim() == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[tokio::test]
    async fn ensure_leaves_a_live_socket_that_does_not_speak_cri_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ContainerdConfig::under(dir.path(), "pause:1");
        config.ready_timeout = Duration::from_millis(300);
        let listener = tokio::net::UnixListener::bind(&config.socket).unwrap();
        let error = Containerd::ensure(&config).await.unwrap_err();
        assert!(matches!(error, Error::NoCriOnSocket { .. }), "{error}");
        assert!(
            config.socket.exists(),
            "the other program's socket is still there"
        );
        assert!(
            !config.config_file.exists(),
            "no config written for a containerd we did not start"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn ensure_reports_the_log_when_containerd_cannot_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ContainerdConfig::under(dir.path(), "pause:1");
        config.binary = PathBuf::from("/bin/false");
        config.ready_timeout = Duration::from_millis(300);
        let error = Containerd::ensure(&config).await.unwrap_err();
        assert!(matches!(error, Error::ContainerdExited { .. }), "{error}");
        assert!(error.to_string().contains("containerd.sock"), "{error}");
    }
}
