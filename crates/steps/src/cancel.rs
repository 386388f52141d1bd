//! Wiring Ctrl-C to a cancellation token.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Spawns a task that cancels `token` when the process receives Ctrl-C (SIGINT).
///
/// The runner then stops at the next await point and returns [`crate::RunError::Cancelled`].
/// The task ends by itself once `token` is cancelled for any reason. Exiting at once on a second
/// Ctrl-C is left to the CLI. Must be called from within a tokio runtime.
pub fn cancel_on_ctrl_c(token: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            signal = tokio::signal::ctrl_c() => match signal {
                Ok(()) => {
                    tracing::info!("interrupted: stopping at the next await point");
                    token.cancel();
                }
                Err(error) => tracing::warn!(%error, "cannot listen for Ctrl-C"),
            },
            () = token.cancelled() => {}
        }
    })
}
