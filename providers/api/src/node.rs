//! A handle on one node: run a command, copy a file. Docker containers and SSH hosts implement it.

use crate::RunError;

/// Output of a command that succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// One machine clusterctl drives.
#[allow(async_fn_in_trait)]
pub trait Node {
    /// Name shown in progress and errors (container name or host address).
    fn name(&self) -> &str;
    /// Runs `argv`; a non-zero exit is a [`RunError`] carrying the output.
    async fn run(&self, argv: &[&str]) -> Result<Output, RunError>;
    /// Writes `bytes` to `path` with `mode` (atomically where the transport allows).
    async fn copy(&self, bytes: &[u8], path: &str, mode: u32) -> Result<(), RunError>;
}
