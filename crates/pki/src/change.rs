//! What a load-or-generate run created or reissued, for progress lines and dry-run plans.

use crate::san::San;
use std::{fmt, path::PathBuf};
use time::OffsetDateTime;

/// One file set that was (or, in a plan, would be) written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Short name of the credential (`ca`, `apiserver`, `admin`, `sa`, `node worker-1`, ...).
    pub name: String,
    /// The certificate (or public key) file written.
    pub path: PathBuf,
    /// Whether it was new or replaced, and why.
    pub kind: ChangeKind,
}

/// Whether a credential was created from nothing or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// No usable file existed.
    Created,
    /// The existing file was replaced for the given reason.
    Reissued(RenewReason),
}

/// Why an existing leaf certificate was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewReason {
    /// The certificate exists but its key does not.
    KeyMissing,
    /// The certificate or key file could not be parsed.
    Unreadable(String),
    /// The key file does not hold the certificate's key.
    KeyMismatch,
    /// The certificate was not signed by the current CA.
    NotIssuedByCa,
    /// The certificate expires within the renewal window.
    Expiring {
        /// When it expires.
        not_after: OffsetDateTime,
    },
    /// Common name or organisations differ from what is required.
    SubjectChanged,
    /// Extended key usage (server/client) differs from what is required.
    UsageChanged,
    /// Subject alternative names required now are missing from the certificate.
    SansMissing(Vec<San>),
}

impl fmt::Display for RenewReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenewReason::KeyMissing => f.write_str("its key is missing"),
            RenewReason::Unreadable(why) => write!(f, "it could not be read: {why}"),
            RenewReason::KeyMismatch => f.write_str("its key does not match the certificate"),
            RenewReason::NotIssuedByCa => f.write_str("it was not issued by the current ca"),
            RenewReason::Expiring { not_after } => {
                write!(f, "it expires at {not_after}, within the renewal window")
            }
            RenewReason::SubjectChanged => f.write_str("its subject differs from the required one"),
            RenewReason::UsageChanged => f.write_str("its key usage differs from the required one"),
            RenewReason::SansMissing(missing) => {
                let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
                write!(f, "it does not cover {}", names.join(", "))
            }
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ChangeKind::Created => write!(f, "create {} at {}", self.name, self.path.display()),
            ChangeKind::Reissued(why) => {
                write!(
                    f,
                    "reissue {} at {} because {why}",
                    self.name,
                    self.path.display()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reissue_lines_say_which_names_are_missing() {
        let change = Change {
            name: "apiserver".into(),
            path: "/pki/apiserver.crt".into(),
            kind: ChangeKind::Reissued(RenewReason::SansMissing(vec![
                San::parse("lb.example").unwrap()
            ])),
        };
        assert_eq!(
            change.to_string(),
            "reissue apiserver at /pki/apiserver.crt because it does not cover lb.example"
        );
    }
}
