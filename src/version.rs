//! Version strings of clusterctl and the clusterd it carries.

/// The Kubernetes minor version clusterd serves and `local`/`ssh` clusters default to.
pub const KUBERNETES_VERSION: &str = "v1.32";

/// `0.1.0 (commit abc1234)`: what `--version` prints.
pub fn short() -> &'static str {
    match option_env!("CLUSTERCTL_GIT_COMMIT") {
        Some(commit) if !commit.is_empty() => {
            // Leaked once per process; clap wants a 'static str.
            Box::leak(format!("{} (commit {commit})", env!("CARGO_PKG_VERSION")).into_boxed_str())
        }
        _ => env!("CARGO_PKG_VERSION"),
    }
}

/// The git commit this binary was built from, when the build recorded it.
pub fn commit() -> Option<&'static str> {
    option_env!("CLUSTERCTL_GIT_COMMIT").filter(|c| !c.is_empty())
}
