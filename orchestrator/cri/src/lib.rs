//! The node agent's container runtime layer.
//!
//! - [`Runtime`]: the narrow CRI interface the agent calls, with [`CriRuntime`] (real, gRPC over
//!   containerd's socket) and [`FakeRuntime`] (recording, for unit tests).
//! - [`Containerd`]: writes containerd's config and starts it when nothing answers on its socket.
//! - [`ImageBuilder`]: builds image tars without Docker or a registry, for the pause image and tests.
//! - [`CniConfig`]: the node's pod network (bridge + host-local + portmap + firewall) as a conflist.
//! - [`cri_log`]: reads the log files the runtime writes for each container.
//! - [`pause`]: the sandbox's pause process (see `src/bin/clusterd-pause.rs`).

mod cni;
mod containerd;
mod cri_runtime;
mod error;
mod fake;
mod image_builder;
mod runtime;

pub mod cri_log;
pub mod pause;

/// The CRI v1 messages, as sent to and answered by the runtime.
pub use k8s_cri::v1 as api;

pub use cni::{CniConfig, PodCidr};
pub use containerd::{Containerd, ContainerdConfig};
pub use cri_runtime::{CriRuntime, CRI_NAMESPACE};
pub use error::{Error, Result};
pub use fake::{Call, FakeRuntime};
pub use image_builder::{ImageBuilder, ImageConfig};
pub use runtime::{ExecOutput, Runtime, RuntimeHealth, RuntimeVersion};
