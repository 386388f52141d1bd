//! The pause process: PID 1 of every pod sandbox. It holds the pod's namespaces open, reaps
//! orphaned children (when the pod shares its PID namespace) and exits on SIGTERM or SIGINT.
//!
//! Used by `src/bin/clusterd-pause.rs`, which goes into the locally built pause image.

use tokio::signal::unix::{signal, SignalKind};

/// Why the pause process stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM arrived (the runtime stopping the sandbox).
    Terminated,
    /// SIGINT arrived.
    Interrupted,
}

/// Sleeps until SIGTERM or SIGINT, reaping every child that exits meanwhile; returns which signal.
pub async fn pause_until_signalled() -> std::io::Result<Stopped> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut child = signal(SignalKind::child())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(Stopped::Terminated),
            _ = int.recv() => return Ok(Stopped::Interrupted),
            _ = child.recv() => {
                reap_children();
            }
        }
    }
}

/// Collects the exit status of every exited child, so none stays a zombie.
fn reap_children() {
    while let Ok(Some(_)) = rustix::process::wait(rustix::process::WaitOptions::NOHANG) {}
}
