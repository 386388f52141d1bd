//! The one error type of the crate.

use std::path::PathBuf;

/// Errors of loading, generating, issuing or inspecting cluster certificates, keys and join tokens.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a PKI file failed (other than it being absent).
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a PKI file or creating its directory failed.
    #[error("write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Taking the lock that serialises writers of one PKI directory failed.
    #[error("lock pki directory with {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A CA certificate exists but its private key does not; a new CA is never made silently.
    #[error(
        "ca certificate {cert} exists but its key {key} is missing: restore the key, or remove the \
         certificate to create a new ca (every certificate it issued must then be reissued)"
    )]
    CaKeyMissing {
        /// The CA certificate found.
        cert: PathBuf,
        /// The key file that is missing.
        key: PathBuf,
    },
    /// A CA key exists but its certificate does not; a new CA is never made silently.
    #[error(
        "ca key {key} exists but its certificate {cert} is missing: restore the certificate, or \
         remove the key to create a new ca"
    )]
    CaCertMissing {
        /// The CA certificate that is missing.
        cert: PathBuf,
        /// The key file found.
        key: PathBuf,
    },
    /// The service-account public key exists but its private key does not; tokens it verified would
    /// break if a new pair were made silently.
    #[error(
        "service-account public key {public} exists but its private key {key} is missing: restore \
         the key, or remove the public key to create a new pair (existing tokens then stop working)"
    )]
    SaKeyMissing {
        /// The public key found.
        public: PathBuf,
        /// The private key that is missing.
        key: PathBuf,
    },
    /// An existing CA file is unusable (unparseable, not a CA, expired, or key and cert disagree).
    #[error("ca {path} is unusable: {reason}")]
    InvalidCa {
        /// The CA certificate or key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A PEM certificate handed to the crate could not be parsed.
    #[error("parse certificate {what}: {reason}")]
    InvalidCertificate {
        /// Which certificate (a path or a short description).
        what: String,
        /// What the parser reported.
        reason: String,
    },
    /// A requested subject alternative name is neither an IP address nor a DNS name.
    #[error("invalid subject alternative name {value:?}: {reason}")]
    InvalidSan {
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The service CIDR of the spec could not be parsed.
    #[error("invalid service cidr {cidr:?}: {reason}")]
    InvalidServiceCidr {
        /// The rejected value.
        cidr: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A node name is not a DNS-1123 subdomain (and so cannot name a node or a file).
    #[error("invalid node name {name:?}: {reason}")]
    InvalidNodeName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A requested certificate subject cannot be encoded.
    #[error("invalid subject for certificate {cn:?}: {reason}")]
    InvalidSubject {
        /// The requested common name.
        cn: String,
        /// Why it was rejected.
        reason: String,
    },
    /// rcgen failed to generate a key or sign a certificate.
    #[error("generate {what}: {source}")]
    Generate {
        /// What was being generated.
        what: String,
        /// The cause.
        source: rcgen::Error,
    },
    /// A private key file could not be parsed.
    #[error("parse private key {path}: {source}")]
    InvalidKey {
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: rcgen::Error,
    },
    /// A join token string does not have kubeadm's `[a-z0-9]{6}.[a-z0-9]{16}` form.
    #[error("invalid join token: {reason} (expected the form [a-z0-9]{{6}}.[a-z0-9]{{16}})")]
    InvalidJoinToken {
        /// What is wrong; never contains the secret.
        reason: String,
    },
    /// A CA pin string does not have the form `sha256:<64 hex digits>`.
    #[error("invalid ca pin {pin:?}: {reason} (expected sha256:<64 hex digits>)")]
    InvalidCaPin {
        /// The rejected pin.
        pin: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The CA's public key does not hash to the pinned value.
    #[error("ca pin mismatch: expected {expected}, the ca certificate has {actual}")]
    CaPinMismatch {
        /// The pin that was asked for.
        expected: String,
        /// The pin computed from the CA certificate.
        actual: String,
    },
}

/// Result of PKI operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
