//! Settings only SSH clusters use: the hosts clusterd is installed on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `ssh:` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SshConfig {
    /// Hosts to turn into nodes; at least one must be a `server`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<SshHost>,
    /// known_hosts file used to verify host keys; defaults to `~/.ssh/known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
}

/// One Linux host reached over SSH.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SshHost {
    /// IP address or DNS name.
    pub address: String,
    /// Login user; defaults to `root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SSH port; defaults to 22.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Private key file; when unset the SSH agent and default identities are tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the host runs; defaults to `server` for the first host when none is a server,
    /// `agent` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<SshRole>,
    /// Jump host to reach this host through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion: Option<Bastion>,
}

/// What an SSH host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SshRole {
    /// `clusterd server` (control plane, and an agent too).
    Server,
    /// `clusterd agent` only (a worker).
    Agent,
}

impl fmt::Display for SshRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SshRole::Server => "server",
            SshRole::Agent => "agent",
        })
    }
}

/// A jump host (`ssh -J`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bastion {
    /// IP address or DNS name.
    pub address: String,
    /// Login user; defaults to `root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SSH port; defaults to 22.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Private key file; when unset the SSH agent and default identities are tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
