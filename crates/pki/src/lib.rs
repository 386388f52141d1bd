//! Every certificate, key and join token of a clusterd cluster.
//!
//! One module owns every PKI path ([`PkiPaths`], like kubeadm's `/etc/kubernetes/pki`) and loads or
//! generates the whole set idempotently ([`ClusterPki::load_or_generate`], like k3s `deps.go`): valid
//! files are kept byte for byte, missing ones are issued from the existing CA, leaves near expiry or
//! lacking a requested SAN are reissued, and an existing CA is never silently replaced.
//!
//! Keys are ECDSA P-256 (rcgen's default), including the service-account key (ES256 tokens).
//! Keys are written 0600, certificates 0644, directories 0700, each file atomically.
//!
//! Join tokens ([`JoinToken`]) and CA pins ([`ca_pin`]) follow kubeadm's formats exactly, so a node
//! can join with `<id>.<secret>` and `--discovery-token-ca-cert-hash sha256:<hex>`.
//!
//! ```
//! use clusterctl_pki::{ClusterPki, JoinToken, PkiPaths, PkiSpec, San};
//! # fn main() -> Result<(), clusterctl_pki::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! let spec = PkiSpec::new("demo").with_sans([San::parse("203.0.113.10")?]);
//! let pki = ClusterPki::load_or_generate(PkiPaths::new(dir.path()), &spec)?;
//! let kubelet = pki.issue_node_client("worker-1")?;
//! let token = JoinToken::generate(std::time::Duration::from_secs(24 * 3600));
//! let join = format!("--token {} --discovery-token-ca-cert-hash {}", token.secret_str(), pki.ca_pin());
//! # assert!(kubelet.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! # assert!(join.contains("sha256:"));
//! # Ok(())
//! # }
//! ```

mod authority;
mod cert_info;
mod cert_key_pair;
mod change;
mod cluster_pki;
mod error;
mod etcd;
mod join_token;
mod leaf;
mod paths;
mod pin;
mod san;
mod service_account;
mod spec;
mod storage;

pub use cert_info::CertInfo;
pub use cert_key_pair::{pem_base64, CertKeyPair};
pub use change::{Change, ChangeKind, RenewReason};
pub use cluster_pki::{
    ClusterPki, ADMIN_CN, ADMIN_GROUP, APISERVER_CN, FRONT_PROXY_CLIENT_CN, NODES_GROUP,
};
pub use error::{Error, Result};
pub use etcd::{EtcdPki, ETCD_CLIENT_CN};
pub use join_token::{JoinToken, TokenUsage};
pub use paths::{validate_node_name, PkiPaths};
pub use pin::{ca_pin, verify_ca_pin};
pub use san::{first_service_ip, San};
pub use service_account::ServiceAccountKey;
pub use spec::{
    PkiSpec, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_RENEW_BEFORE, DEFAULT_SERVICE_CIDR,
};
