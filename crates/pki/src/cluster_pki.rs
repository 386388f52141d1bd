//! The whole PKI of one cluster, loaded from disk or generated where missing (k3s `deps.go`).

use crate::{
    authority::Authority,
    cert_key_pair::{pem_base64, CertKeyPair},
    change::{Change, ChangeKind, RenewReason},
    error::{Error, Result},
    leaf::LeafSpec,
    paths::{validate_node_name, PkiPaths},
    pin::ca_pin,
    san::San,
    service_account::ServiceAccountKey,
    spec::PkiSpec,
    storage::{read_optional, tighten_key_mode, write_atomic, DirLock, CERT_MODE, KEY_MODE},
};
use std::{net::IpAddr, path::Path, time::Duration};
use time::OffsetDateTime;

/// Common name of the API server serving certificate.
pub const APISERVER_CN: &str = "kube-apiserver";
/// Common name of the cluster-admin client certificate.
pub const ADMIN_CN: &str = "kubernetes-admin";
/// Group of the cluster-admin client certificate (bound to cluster-admin by default RBAC).
pub const ADMIN_GROUP: &str = "system:masters";
/// Common name of the front-proxy client certificate.
pub const FRONT_PROXY_CLIENT_CN: &str = "front-proxy-client";
/// Group of node client certificates.
pub const NODES_GROUP: &str = "system:nodes";

/// Every credential of a cluster: CAs, API server, admin and front-proxy certificates and the
/// service-account key, all backed by files under one [`PkiPaths`].
#[derive(Debug)]
pub struct ClusterPki {
    paths: PkiPaths,
    ca: Authority,
    front_proxy_ca: Authority,
    apiserver: CertKeyPair,
    admin: CertKeyPair,
    front_proxy_client: CertKeyPair,
    service_account: ServiceAccountKey,
    ca_pin: String,
    cert_validity: Duration,
    renew_before: Duration,
    changes: Vec<Change>,
}

impl ClusterPki {
    /// Loads the PKI under `paths`, creating what is missing and reissuing leaves that expire within
    /// `spec.renew_before`, lack a requested SAN or no longer match their CA. Valid files are left
    /// byte for byte as they are. An existing CA is never replaced: a CA certificate without its key
    /// is an error naming the missing file.
    pub fn load_or_generate(paths: PkiPaths, spec: &PkiSpec) -> Result<Self> {
        Self::load_or_generate_at(paths, spec, OffsetDateTime::now_utc())
    }

    /// What [`load_or_generate`](Self::load_or_generate) would create or reissue, writing nothing.
    pub fn plan(paths: &PkiPaths, spec: &PkiSpec) -> Result<Vec<Change>> {
        let mut run = Run::new(paths, Mode::Plan, OffsetDateTime::now_utc());
        Ok(Self::build(&mut run, spec)?.changes)
    }

    pub(crate) fn load_or_generate_at(
        paths: PkiPaths,
        spec: &PkiSpec,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let _lock = DirLock::acquire(&paths.lock_file())?;
        let mut run = Run::new(&paths, Mode::Write, now);
        Self::build(&mut run, spec)
    }

    fn build(run: &mut Run<'_>, spec: &PkiSpec) -> Result<Self> {
        let name = spec.cluster_name.trim();
        if name.is_empty() {
            return Err(Error::InvalidSubject {
                cn: String::new(),
                reason: "the cluster name is empty".into(),
            });
        }
        let paths = run.paths;
        let api_sans = spec.api_server_sans()?;
        let validity = spec.cert_validity;
        let ca = run.ca(
            "ca",
            &paths.ca_cert(),
            &paths.ca_key(),
            &format!("{name}-ca"),
            spec.ca_validity,
        )?;
        let front_proxy_ca = run.ca(
            "front-proxy-ca",
            &paths.front_proxy_ca_cert(),
            &paths.front_proxy_ca_key(),
            &format!("{name}-front-proxy-ca"),
            spec.ca_validity,
        )?;
        let renew = spec.renew_before;
        let apiserver = run.leaf(
            &ca,
            "apiserver",
            (&paths.apiserver_cert(), &paths.apiserver_key()),
            &LeafSpec::server(APISERVER_CN, &[], api_sans, validity),
            renew,
        )?;
        let admin = run.leaf(
            &ca,
            "admin",
            (&paths.admin_cert(), &paths.admin_key()),
            &LeafSpec::client(ADMIN_CN, &[ADMIN_GROUP], validity),
            renew,
        )?;
        let front_proxy_client = run.leaf(
            &front_proxy_ca,
            "front-proxy-client",
            (
                &paths.front_proxy_client_cert(),
                &paths.front_proxy_client_key(),
            ),
            &LeafSpec::client(FRONT_PROXY_CLIENT_CN, &[], validity),
            renew,
        )?;
        let service_account = run.service_account()?;
        let ca_pin = ca_pin(ca.cert_pem())?;
        Ok(Self {
            paths: paths.clone(),
            ca,
            front_proxy_ca,
            apiserver,
            admin,
            front_proxy_client,
            service_account,
            ca_pin,
            cert_validity: validity,
            renew_before: renew,
            changes: std::mem::take(&mut run.changes),
        })
    }

    /// Loads or issues the client certificate of node `node_name` (CN `system:node:<name>`,
    /// O `system:nodes`) at [`PkiPaths::node_client_cert`], reissuing it under the same rules as
    /// [`load_or_generate`](Self::load_or_generate).
    pub fn issue_node_client(&self, node_name: &str) -> Result<CertKeyPair> {
        validate_node_name(node_name)?;
        let leaf = LeafSpec::client(
            &format!("system:node:{node_name}"),
            &[NODES_GROUP],
            self.cert_validity,
        );
        let (cert, key) = (
            self.paths.node_client_cert(node_name)?,
            self.paths.node_client_key(node_name)?,
        );
        self.node_leaf(&format!("node {node_name} client"), (&cert, &key), &leaf)
    }

    /// Loads or issues the serving certificate of the agent on node `node_name`, covering the node
    /// name and `addresses`, at [`PkiPaths::node_serving_cert`].
    pub fn issue_node_serving(&self, node_name: &str, addresses: &[IpAddr]) -> Result<CertKeyPair> {
        validate_node_name(node_name)?;
        let mut sans = vec![San::dns(node_name)?];
        sans.extend(addresses.iter().copied().map(San::Ip));
        sans.sort();
        sans.dedup();
        let leaf = LeafSpec::server(
            &format!("system:node:{node_name}"),
            &[NODES_GROUP],
            sans,
            self.cert_validity,
        );
        let (cert, key) = (
            self.paths.node_serving_cert(node_name)?,
            self.paths.node_serving_key(node_name)?,
        );
        self.node_leaf(&format!("node {node_name} serving"), (&cert, &key), &leaf)
    }

    fn node_leaf(&self, name: &str, files: (&Path, &Path), leaf: &LeafSpec) -> Result<CertKeyPair> {
        let _lock = DirLock::acquire(&self.paths.lock_file())?;
        let mut run = Run::new(&self.paths, Mode::Write, OffsetDateTime::now_utc());
        run.leaf(&self.ca, name, files, leaf, self.renew_before)
    }

    /// Issues, in memory only, a client certificate signed by the cluster CA for user `cn` in group
    /// `orgs` (at most one group), valid for `ttl`. Nothing is written.
    pub fn issue_client(&self, cn: &str, orgs: &[&str], ttl: Duration) -> Result<CertKeyPair> {
        self.ca
            .issue(&LeafSpec::client(cn, orgs, ttl), OffsetDateTime::now_utc())
    }

    /// The file paths this PKI lives in.
    pub fn paths(&self) -> &PkiPaths {
        &self.paths
    }

    /// What this run created or reissued (empty when everything was loaded as it was).
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The cluster CA certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// The cluster CA as kubeconfig's `certificate-authority-data`.
    pub fn ca_data_base64(&self) -> String {
        pem_base64(self.ca.cert_pem())
    }

    /// The cluster CA pin for `--discovery-token-ca-cert-hash` (`sha256:<hex>`).
    pub fn ca_pin(&self) -> &str {
        &self.ca_pin
    }

    /// The front-proxy CA certificate, PEM (the API server's `--requestheader-client-ca-file`).
    pub fn front_proxy_ca_cert_pem(&self) -> &str {
        self.front_proxy_ca.cert_pem()
    }

    /// The API server serving certificate and key.
    pub fn apiserver(&self) -> &CertKeyPair {
        &self.apiserver
    }

    /// The `kubernetes-admin` / `system:masters` client certificate and key.
    pub fn admin(&self) -> &CertKeyPair {
        &self.admin
    }

    /// The front-proxy client certificate and key.
    pub fn front_proxy_client(&self) -> &CertKeyPair {
        &self.front_proxy_client
    }

    /// The service-account token signing key pair.
    pub fn service_account(&self) -> &ServiceAccountKey {
        &self.service_account
    }
}

/// Whether a run writes files or only records what it would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    Plan,
}

/// One load-or-generate pass: the clock reading, the mode and the changes so far.
#[derive(Debug)]
struct Run<'a> {
    paths: &'a PkiPaths,
    mode: Mode,
    now: OffsetDateTime,
    changes: Vec<Change>,
}

impl<'a> Run<'a> {
    fn new(paths: &'a PkiPaths, mode: Mode, now: OffsetDateTime) -> Self {
        Self {
            paths,
            mode,
            now,
            changes: Vec::new(),
        }
    }

    fn ca(
        &mut self,
        name: &str,
        cert: &Path,
        key: &Path,
        cn: &str,
        validity: Duration,
    ) -> Result<Authority> {
        match (read_optional(cert)?, read_optional(key)?) {
            (Some(cert_pem), Some(key_pem)) => {
                if self.mode == Mode::Write {
                    tighten_key_mode(key)?;
                }
                Authority::load(cert, &cert_pem, key, &key_pem, self.now)
            }
            (Some(_), None) => Err(Error::CaKeyMissing {
                cert: cert.to_owned(),
                key: key.to_owned(),
            }),
            (None, Some(_)) => Err(Error::CaCertMissing {
                cert: cert.to_owned(),
                key: key.to_owned(),
            }),
            (None, None) => {
                let ca = Authority::generate(cn, validity, self.now)?;
                self.write(key, ca.key_pem().as_bytes(), KEY_MODE)?;
                self.write(cert, ca.cert_pem().as_bytes(), CERT_MODE)?;
                self.record(name, cert, ChangeKind::Created);
                Ok(ca)
            }
        }
    }

    fn leaf(
        &mut self,
        ca: &Authority,
        name: &str,
        (cert, key): (&Path, &Path),
        spec: &LeafSpec,
        renew_before: Duration,
    ) -> Result<CertKeyPair> {
        let kind = match (read_optional(cert)?, read_optional(key)?) {
            (None, _) => ChangeKind::Created,
            (Some(_), None) => ChangeKind::Reissued(RenewReason::KeyMissing),
            (Some(cert_pem), Some(key_pem)) => {
                match spec.renew_reason(ca, &cert_pem, &key_pem, self.now, renew_before) {
                    Some(reason) => ChangeKind::Reissued(reason),
                    None => {
                        if let (Ok(c), Ok(k)) =
                            (String::from_utf8(cert_pem), String::from_utf8(key_pem))
                        {
                            if self.mode == Mode::Write {
                                tighten_key_mode(key)?;
                            }
                            return Ok(CertKeyPair::new(c, k));
                        }
                        ChangeKind::Reissued(RenewReason::Unreadable("not a text file".into()))
                    }
                }
            }
        };
        let pair = ca.issue(spec, self.now)?;
        self.write(key, pair.key_pem().as_bytes(), KEY_MODE)?;
        self.write(cert, pair.cert_pem().as_bytes(), CERT_MODE)?;
        self.record(name, cert, kind);
        Ok(pair)
    }

    fn service_account(&mut self) -> Result<ServiceAccountKey> {
        let (key_path, pub_path) = (self.paths.sa_key(), self.paths.sa_pub());
        let existing_pub = read_optional(&pub_path)?;
        let Some(key_pem) = read_optional(&key_path)? else {
            if existing_pub.is_some() {
                return Err(Error::SaKeyMissing {
                    public: pub_path,
                    key: key_path,
                });
            }
            let sa = ServiceAccountKey::generate()?;
            self.write(&key_path, sa.private_key_pem().as_bytes(), KEY_MODE)?;
            self.write(&pub_path, sa.public_key_pem().as_bytes(), CERT_MODE)?;
            self.record("sa", &pub_path, ChangeKind::Created);
            return Ok(sa);
        };
        let sa = ServiceAccountKey::from_private_pem(&key_path, &key_pem)?;
        if self.mode == Mode::Write {
            tighten_key_mode(&key_path)?;
        }
        let kind = match existing_pub {
            None => Some(ChangeKind::Created),
            Some(found) if !same_public_key(&found, sa.public_key_pem()) => {
                Some(ChangeKind::Reissued(RenewReason::KeyMismatch))
            }
            Some(_) => None,
        };
        if let Some(kind) = kind {
            self.write(&pub_path, sa.public_key_pem().as_bytes(), CERT_MODE)?;
            self.record("sa.pub", &pub_path, kind);
        }
        Ok(sa)
    }

    fn write(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        match self.mode {
            Mode::Write => write_atomic(path, bytes, mode),
            Mode::Plan => Ok(()),
        }
    }

    fn record(&mut self, name: &str, path: &Path, kind: ChangeKind) {
        let change = Change {
            name: name.to_owned(),
            path: path.to_owned(),
            kind,
        };
        if self.mode == Mode::Write {
            tracing::info!(path = %change.path.display(), "{change}");
        }
        self.changes.push(change);
    }
}

/// Whether the PEM public key `found` (as read from disk) is the same key as `wanted`.
fn same_public_key(found: &[u8], wanted: &str) -> bool {
    use rcgen::PublicKeyData;
    let parse = |text: &str| rcgen::SubjectPublicKeyInfo::from_pem(text).ok();
    match (
        std::str::from_utf8(found).ok().and_then(parse),
        parse(wanted),
    ) {
        (Some(a), Some(b)) => a.der_bytes() == b.der_bytes(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: i64) -> time::Duration {
        time::Duration::days(n)
    }

    #[test]
    fn leaves_inside_the_renewal_window_are_reissued_but_the_ca_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(dir.path());
        let spec = PkiSpec::new("demo");
        let now = OffsetDateTime::now_utc();
        let first = ClusterPki::load_or_generate_at(paths.clone(), &spec, now).unwrap();

        // 340 days later the 1-year leaves are 25 days from expiry: inside the 30-day window.
        let later = ClusterPki::load_or_generate_at(paths.clone(), &spec, now + days(340)).unwrap();
        let reissued: Vec<&str> = later.changes().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(reissued, ["apiserver", "admin", "front-proxy-client"]);
        assert!(later
            .changes()
            .iter()
            .all(|c| matches!(c.kind, ChangeKind::Reissued(RenewReason::Expiring { .. }))));
        assert_eq!(later.ca_cert_pem(), first.ca_cert_pem());
        assert_ne!(later.apiserver().cert_pem(), first.apiserver().cert_pem());
        let info = later.apiserver().info().unwrap();
        assert!(info.not_after > now + days(340 + 364));
    }

    #[test]
    fn leaves_outside_the_renewal_window_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(dir.path());
        let spec = PkiSpec::new("demo");
        let now = OffsetDateTime::now_utc();
        ClusterPki::load_or_generate_at(paths.clone(), &spec, now).unwrap();
        let later = ClusterPki::load_or_generate_at(paths, &spec, now + days(300)).unwrap();
        assert!(later.changes().is_empty(), "{:?}", later.changes());
    }

    #[test]
    fn an_expired_ca_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(dir.path());
        let spec = PkiSpec::new("demo");
        let now = OffsetDateTime::now_utc();
        ClusterPki::load_or_generate_at(paths.clone(), &spec, now).unwrap();
        let err =
            ClusterPki::load_or_generate_at(paths.clone(), &spec, now + days(3651)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&paths.ca_cert().display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("expired"), "{msg}");
    }

    #[test]
    fn leaves_never_outlive_their_ca() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(dir.path());
        let mut spec = PkiSpec::new("demo");
        spec.ca_validity = Duration::from_secs(100 * 24 * 3600);
        let pki = ClusterPki::load_or_generate(paths, &spec).unwrap();
        let ca = crate::CertInfo::from_pem(pki.ca_cert_pem()).unwrap();
        let admin = pki.admin().info().unwrap();
        assert!(admin.not_after <= ca.not_after);
    }
}
