//! The user's kubeconfig: find it, read it, merge clusterctl's entries into it and take them out
//! again, the way kubectl, kind and eksctl do, without disturbing anything else in the file.
//!
//! - [`Location`] resolves the file(s) like client-go: `--kubeconfig`, else `$KUBECONFIG`
//!   (a `:`-separated list read as one merged view), else `~/.kube/config`.
//! - [`Store`] reads the merged view and changes the files under kubectl's own `<path>.lock`
//!   (created `O_EXCL`, waited for up to 10 s), writing atomically with mode 0600.
//! - Edits splice the text (found with saphyr's spans), so unrelated entries, their order,
//!   comments and formatting survive byte-for-byte; see `document.rs` for the one fallback
//!   (flow-style lists).
//! - An [`Entry`] is what clusterctl adds per cluster: a cluster, a user and a context, all
//!   named [`context_name`]`(provider, cluster)`, e.g. `local-dev`.
//!
//! ```no_run
//! use clusterctl_kubeconfig::{context_name, Cluster, CurrentContext, Entry, Store, User};
//! # fn main() -> clusterctl_kubeconfig::Result<()> {
//! let name = context_name("local", "dev");
//! let entry = Entry::new(&name, Cluster::new("https://127.0.0.1:6443", b"-----BEGIN CERTIFICATE-----..."),
//!     User::token("secret"));
//! let store = Store::open(None)?;
//! store.upsert(&entry, CurrentContext::Switch)?;
//! store.remove(&name)?;
//! # Ok(()) }
//! ```

mod document;
mod error;
mod layout;
mod location;
mod lock;
mod model;
mod persist;
mod standalone;
mod store;

pub use error::{Error, Result};
pub use location::Location;
pub use lock::DEFAULT_LOCK_TIMEOUT;
pub use model::{
    context_name, Cluster, Context, Entry, ExecConfig, ExecEnvVar, InteractiveMode, Kubeconfig,
    NamedCluster, NamedContext, NamedUser, Preferences, User, EXEC_API_VERSION,
};
pub use persist::write_file;
pub use standalone::render_standalone;
pub use store::{CurrentContext, Store};
