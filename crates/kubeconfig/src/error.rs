//! The one error type of this crate.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Shorthand for results of kubeconfig operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading, locking or writing a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `--kubeconfig`, no `$KUBECONFIG` and no `$HOME` to find `~/.kube/config` in.
    #[error("cannot locate the kubeconfig: pass --kubeconfig, or set KUBECONFIG or HOME")]
    NoLocation,

    /// A kubeconfig exists but could not be read.
    #[error("failed to read kubeconfig {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// A kubeconfig is not valid YAML, or not a kubeconfig (e.g. `clusters` is not a list).
    #[error("failed to parse kubeconfig {} at line {line}, column {column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong there.
        message: String,
    },

    /// A kubeconfig holds several YAML documents, which kubectl does not accept either.
    #[error("kubeconfig {} holds {count} YAML documents, expected one", path.display())]
    MultipleDocuments {
        /// The file.
        path: PathBuf,
        /// How many documents it holds.
        count: usize,
    },

    /// Another kubectl or clusterctl held the lock for the whole bounded wait.
    #[error(
        "timed out after {}s waiting for kubeconfig lock {}: if no kubectl or clusterctl is \
         still running, remove the stale lock with `rm {}`",
        waited.as_secs(), lock.display(), lock.display()
    )]
    LockTimeout {
        /// The lock file.
        lock: PathBuf,
        /// How long we waited.
        waited: Duration,
    },

    /// The lock file could not be created for a reason other than being held.
    #[error("failed to create kubeconfig lock {}", lock.display())]
    Lock {
        /// The lock file.
        lock: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// Writing (temp file, fsync, chmod, rename) failed; the old file is untouched.
    #[error("failed to write kubeconfig {}", path.display())]
    Write {
        /// The file being replaced.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// A context asked for by name is in none of the files.
    #[error("context {name} not found in kubeconfig {files}")]
    ContextNotFound {
        /// The context name.
        name: String,
        /// The files searched, `:`-separated.
        files: String,
    },

    /// A context names a cluster or user entry that no file defines.
    #[error("context {context} refers to {kind} {name}, which is not in kubeconfig {files}")]
    DanglingReference {
        /// The context name.
        context: String,
        /// `cluster` or `user`.
        kind: &'static str,
        /// The missing entry.
        name: String,
        /// The files searched, `:`-separated.
        files: String,
    },

    /// An entry could not be rendered as YAML.
    #[error("failed to render kubeconfig entry {name}")]
    Render {
        /// The entry being rendered.
        name: String,
        /// Why.
        #[source]
        source: serde_yaml::Error,
    },

    /// An edit produced text that no longer parses; nothing was written. This is a bug.
    #[error("refusing to write kubeconfig {}: the edited text no longer parses ({message}); please report this", path.display())]
    EditFailed {
        /// The file that would have been written.
        path: PathBuf,
        /// The parse problem.
        message: String,
    },
}
