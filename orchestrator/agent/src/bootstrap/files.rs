//! The agent's credential files: `<data-dir>/kubeconfig` (0600, everything embedded) and
//! `<data-dir>/pki/{ca.crt,client.crt,client.key,serving.crt,serving.key}` (keys 0600), written
//! atomically, and how fresh a certificate in them still is.

use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use time::OffsetDateTime;

use super::{Error, Result};

/// Mode of private keys and the kubeconfig.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of certificates.
pub const PUBLIC_MODE: u32 = 0o644;

/// Every path the bootstrap writes under one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    /// The data directory itself.
    pub data_dir: PathBuf,
}

impl AgentPaths {
    /// Paths under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
        }
    }
    /// `<data-dir>/kubeconfig`.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig")
    }
    /// `<data-dir>/pki`.
    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }
    /// The cluster CA as discovered (or found in the kubeconfig).
    pub fn ca_cert(&self) -> PathBuf {
        self.pki_dir().join("ca.crt")
    }
    /// The node's client certificate.
    pub fn client_cert(&self) -> PathBuf {
        self.pki_dir().join("client.crt")
    }
    /// The node's client key, written before its CSR is sent.
    pub fn client_key(&self) -> PathBuf {
        self.pki_dir().join("client.key")
    }
    /// The agent's serving certificate (port 10250).
    pub fn serving_cert(&self) -> PathBuf {
        self.pki_dir().join("serving.crt")
    }
    /// The agent's serving key.
    pub fn serving_key(&self) -> PathBuf {
        self.pki_dir().join("serving.key")
    }
}

/// Writes `bytes` to `path` atomically (temp file + rename) with `mode`, creating its directory.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |operation: &'static str| {
        let path = path.display().to_string();
        move |source| Error::Io {
            operation,
            path,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("create directory for"))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io("create"))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io("set the mode of"))?;
    file.write_all(bytes).map_err(io("write"))?;
    file.sync_all().map_err(io("sync"))?;
    std::fs::rename(&tmp, path).map_err(io("rename into place"))?;
    Ok(())
}

/// Reads a file, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            operation: "read",
            path: path.display().to_string(),
            source,
        }),
    }
}

/// What the kubeconfig of a joined node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeKubeconfig {
    /// `https://host:port` of the API server.
    pub server: String,
    /// The cluster CA, PEM.
    pub ca_pem: String,
    /// The node's client certificate, PEM.
    pub cert_pem: String,
    /// The node's client key, PEM.
    pub key_pem: String,
    /// The user name (`system:node:<name>`).
    pub user: String,
}

impl NodeKubeconfig {
    /// The kubeconfig text, every credential embedded.
    pub fn render(&self) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: clusterd\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {user:?}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\ncontexts:\n- name: clusterd\n  context:\n    cluster: clusterd\n    user: {user:?}\ncurrent-context: clusterd\n",
            server = self.server,
            ca = b64(&self.ca_pem),
            cert = b64(&self.cert_pem),
            key = b64(&self.key_pem),
            user = self.user,
        )
    }

    /// Parses a kubeconfig written by [`render`](Self::render) (or any with embedded data).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let invalid = |reason: String| Error::Invalid {
            what: path.display().to_string(),
            reason,
        };
        let config = kube::config::Kubeconfig::from_yaml(text)
            .map_err(|e| invalid(format!("not a kubeconfig: {e}")))?;
        let cluster = config
            .clusters
            .first()
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| invalid("it has no cluster".into()))?;
        let named_user = config
            .auth_infos
            .first()
            .ok_or_else(|| invalid("it has no user".into()))?;
        let user = named_user
            .auth_info
            .clone()
            .ok_or_else(|| invalid("it has no user".into()))?;
        let decode = |field: &str, value: Option<String>| -> Result<String> {
            let value = value.ok_or_else(|| invalid(format!("it has no {field}")))?;
            base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid(format!("its {field} is not base64 PEM")))
        };
        Ok(Self {
            server: cluster
                .server
                .ok_or_else(|| invalid("its cluster has no server".into()))?,
            ca_pem: decode(
                "certificate-authority-data",
                cluster.certificate_authority_data,
            )?,
            cert_pem: decode(
                "client-certificate-data",
                user.client_certificate_data.clone(),
            )?,
            // The key is a secret string in kube's types; its serialized form is the plain text.
            key_pem: decode(
                "client-key-data",
                serde_json::to_value(&user)
                    .ok()
                    .and_then(|u| u.get("client-key-data")?.as_str().map(str::to_owned)),
            )?,
            user: named_user.name.clone(),
        })
    }
}

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject common name.
    pub common_name: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// IP addresses.
    pub ip_addresses: Vec<IpAddr>,
}

impl CertSummary {
    /// Parses the first certificate of `pem`.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use x509_parser::extensions::GeneralName;
        let (_, block) =
            x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let cert = block.parse_x509().map_err(|e| e.to_string())?;
        let mut summary = CertSummary {
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok())
                .unwrap_or_default()
                .to_owned(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => summary.dns_names.push((*d).to_owned()),
                    GeneralName::IPAddress(b) if b.len() == 4 => summary
                        .ip_addresses
                        .push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                    GeneralName::IPAddress(b) if b.len() == 16 => summary
                        .ip_addresses
                        .push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                    _ => {}
                }
            }
        }
        Ok(summary)
    }

    /// Whether more than a tenth of the certificate's lifetime is left at `now` (the agent
    /// renews after 90%, as the kubelet does at 70-90%).
    pub fn is_fresh(&self, now: OffsetDateTime) -> bool {
        let total = self.not_after - self.not_before;
        let left = self.not_after - now;
        now >= self.not_before && left > total / 10
    }

    /// Whether it has not yet expired at `now`.
    pub fn is_valid(&self, now: OffsetDateTime) -> bool {
        now >= self.not_before && now < self.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_with_their_mode_and_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AgentPaths::new(dir.path());
        write_file(&paths.client_key(), b"one", SECRET_MODE).unwrap();
        write_file(&paths.client_key(), b"two", SECRET_MODE).unwrap();
        let meta = std::fs::metadata(paths.client_key()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(paths.client_key()).unwrap(), b"two");
        assert_eq!(read_optional(&paths.serving_key()).unwrap(), None);
    }

    #[test]
    fn freshness_is_the_last_tenth_of_the_lifetime() {
        let start = OffsetDateTime::now_utc();
        let summary = CertSummary {
            common_name: "x".into(),
            not_before: start,
            not_after: start + time::Duration::days(100),
            dns_names: vec![],
            ip_addresses: vec![],
        };
        assert!(summary.is_fresh(start + time::Duration::days(89)));
        assert!(!summary.is_fresh(start + time::Duration::days(91)));
        assert!(summary.is_valid(start + time::Duration::days(91)));
        assert!(!summary.is_valid(start + time::Duration::days(101)));
    }
}
