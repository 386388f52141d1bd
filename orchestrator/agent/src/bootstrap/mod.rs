//! Joining a cluster: the node's own credentials from a bootstrap token and the CA pin, kept in
//! `<data-dir>/kubeconfig` and reused (or renewed with themselves) on later starts, plus the
//! serving certificate of the agent's HTTPS port. Upstream's kubelet TLS bootstrap, with kubeadm's
//! token discovery made a TLS-level check.

mod files;
mod pin;
mod request;
pub mod token;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

pub use files::{AgentPaths, CertSummary, NodeKubeconfig};
pub use pin::{discover_ca, normalize_pin, spki_pin, PinnedCaVerifier};
pub use request::{node_request, NodeRequest, Purpose, CLIENT_SIGNER, SERVING_SIGNER};

use files::{read_optional, write_file, PUBLIC_MODE, SECRET_MODE};

/// What can go wrong while joining.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server's CA is not the pinned one (or the server did not show it).
    #[error("refusing server {server}: {reason}")]
    CaPinMismatch {
        /// The server URL.
        server: String,
        /// What did not match.
        reason: String,
    },
    /// The server could not be reached or its CA could not be read.
    #[error("discover the cluster ca at {server}: {reason}")]
    Discovery {
        /// The server URL.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The server refused the credentials (bootstrap token or node certificate).
    #[error(
        "{server} refused the {credential} (401 Unauthorized) while trying to {operation}: {hint}"
    )]
    Unauthorized {
        /// The server URL.
        server: String,
        /// `bootstrap token` or `node certificate`.
        credential: &'static str,
        /// What was being done.
        operation: &'static str,
        /// What to do about it.
        hint: &'static str,
    },
    /// Any other API error.
    #[error("{operation} at {server}: {source}")]
    Api {
        /// The server URL.
        server: String,
        /// What was being done.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The request was denied or failed instead of being issued.
    #[error("certificate signing request {name} at {server} was {reason}")]
    CsrRefused {
        /// The server URL.
        server: String,
        /// The CertificateSigningRequest.
        name: String,
        /// The Denied/Failed condition.
        reason: String,
    },
    /// Nobody approved and signed the request in time.
    #[error("certificate signing request {name} at {server} was not issued within {waited:?}; approve it with `kubectl certificate approve {name}`")]
    CsrTimeout {
        /// The server URL.
        server: String,
        /// The CertificateSigningRequest.
        name: String,
        /// How long the agent waited.
        waited: Duration,
    },
    /// A file could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A setting or file cannot be used as it is.
    #[error("{what}: {reason}")]
    Invalid {
        /// The setting or file.
        what: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// An API error, made specific when it is a 401.
    fn from_api(server: &str, operation: &'static str, error: kube::Error) -> Self {
        Self::api_as(server, operation, error, "bootstrap token")
    }

    fn api_as(
        server: &str,
        operation: &'static str,
        error: kube::Error,
        credential: &'static str,
    ) -> Self {
        let unauthorized = match &error {
            kube::Error::Api(status) => status.code == 401,
            _ => error.to_string().contains("401"),
        };
        if unauthorized {
            let hint = if credential == "bootstrap token" {
                "the token is unknown, expired or not for authentication; create one with `clusterd token create`"
            } else {
                "the node certificate is not trusted; remove the agent's kubeconfig and join again with a token"
            };
            return Error::Unauthorized {
                server: server.to_owned(),
                credential,
                operation,
                hint,
            };
        }
        Error::Api {
            server: server.to_owned(),
            operation,
            source: Box::new(error),
        }
    }
}

/// Result of bootstrap operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to join.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// `https://host:port` of the API server.
    pub server: String,
    /// The bootstrap token `<id>.<secret>`; needed only when there are no usable credentials yet.
    pub token: Option<String>,
    /// `sha256:<hex>` pin of the cluster CA; needed together with the token.
    pub ca_cert_hash: Option<String>,
    /// The Node's name.
    pub node_name: String,
    /// The node's addresses, put into the serving certificate.
    pub node_ips: Vec<IpAddr>,
    /// Where the kubeconfig and certificates live.
    pub data_dir: PathBuf,
    /// How long to wait for each certificate to be approved and issued.
    pub approval_timeout: Duration,
}

impl JoinConfig {
    /// A configuration with the default 2-minute approval timeout.
    pub fn new(server: &str, node_name: &str, data_dir: &Path) -> Self {
        Self {
            server: server.to_owned(),
            token: None,
            ca_cert_hash: None,
            node_name: node_name.to_owned(),
            node_ips: Vec::new(),
            data_dir: data_dir.to_owned(),
            approval_timeout: Duration::from_secs(120),
        }
    }
}

/// The node's credentials once joined.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `<data-dir>/kubeconfig`, with everything embedded.
    pub kubeconfig: PathBuf,
    /// Its content.
    pub node: NodeKubeconfig,
    /// The agent's serving certificate (PEM file).
    pub serving_cert: PathBuf,
    /// The agent's serving key (PEM file, 0600).
    pub serving_key: PathBuf,
}

impl Credentials {
    /// The cluster CA, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.node.ca_pem
    }

    /// A kube-rs configuration for the node's identity.
    pub async fn config(&self) -> Result<kube::Config> {
        kube_config(&self.kubeconfig, &self.node.render()).await
    }

    /// A kube-rs client for the node's identity.
    pub async fn client(&self) -> Result<kube::Client> {
        client_of(self.config().await?, &self.kubeconfig)
    }
}

async fn kube_config(origin: &Path, text: &str) -> Result<kube::Config> {
    let invalid = |reason: String| Error::Invalid {
        what: origin.display().to_string(),
        reason,
    };
    let file =
        kube::config::Kubeconfig::from_yaml(text).map_err(|e| invalid(format!("parse: {e}")))?;
    kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| invalid(format!("load: {e}")))
}

fn client_of(config: kube::Config, origin: &Path) -> Result<kube::Client> {
    kube::Client::try_from(config).map_err(|e| Error::Invalid {
        what: origin.display().to_string(),
        reason: format!("build a client: {e}"),
    })
}

/// A client that authenticates with the bootstrap token and trusts only `ca_pem`.
async fn bootstrap_client(server: &str, ca_pem: &str, token: &str) -> Result<kube::Client> {
    use base64::Engine as _;
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    token: {token:?}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
        base64::engine::general_purpose::STANDARD.encode(ca_pem)
    );
    let origin = Path::new("bootstrap credentials");
    client_of(kube_config(origin, &text).await?, origin)
}

/// The node's credentials: the existing kubeconfig when its certificate has more than a tenth of
/// its life left; a renewal requested with that certificate when it is older but still valid;
/// otherwise a join with the token after the server's CA passed the pin check. Then the serving
/// certificate, reissued when stale or missing one of the node's names.
pub async fn ensure_credentials(cfg: &JoinConfig) -> Result<Credentials> {
    let paths = AgentPaths::new(&cfg.data_dir);
    let now = OffsetDateTime::now_utc();
    let existing = match read_optional(&paths.kubeconfig())? {
        Some(text) => Some(NodeKubeconfig::parse(&paths.kubeconfig(), &text)?),
        None => None,
    };
    let expected_user = format!("system:node:{}", cfg.node_name);
    let usable = existing.filter(|node| {
        CertSummary::from_pem(&node.cert_pem)
            .is_ok_and(|c| c.common_name == expected_user && c.is_valid(now))
            && node.server == cfg.server
    });
    let node = match usable {
        Some(node) => {
            let fresh = CertSummary::from_pem(&node.cert_pem).is_ok_and(|c| c.is_fresh(now));
            if fresh {
                tracing::info!(node = %cfg.node_name, "reusing the node's client certificate");
                node
            } else {
                tracing::info!(node = %cfg.node_name, "renewing the node's client certificate");
                renew_client(cfg, &paths, &node).await?
            }
        }
        None => join(cfg, &paths).await?,
    };
    let credentials = Credentials {
        kubeconfig: paths.kubeconfig(),
        node,
        serving_cert: paths.serving_cert(),
        serving_key: paths.serving_key(),
    };
    ensure_serving(cfg, &paths, &credentials).await?;
    Ok(credentials)
}

/// Joins with the token: pin check, CSR, wait, kubeconfig.
async fn join(cfg: &JoinConfig, paths: &AgentPaths) -> Result<NodeKubeconfig> {
    let kubeconfig = paths.kubeconfig().display().to_string();
    let token = cfg.token.as_deref().ok_or_else(|| Error::Invalid {
        what: "--token".into(),
        reason: format!(
            "no usable credentials in {kubeconfig}; a bootstrap token is needed to join"
        ),
    })?;
    clusterctl_pki::JoinToken::parse(token).map_err(|e| Error::Invalid {
        what: "--token".into(),
        reason: e.to_string(),
    })?;
    let pin = cfg.ca_cert_hash.as_deref().ok_or_else(|| Error::Invalid {
        what: "--ca-cert-hash".into(),
        reason: "the CA pin is needed to join with a token".into(),
    })?;
    let ca_pem = discover_ca(&cfg.server, pin, Duration::from_secs(20)).await?;
    tracing::info!(server = %cfg.server, "the server's CA matches the pin; requesting a node certificate");
    write_file(&paths.ca_cert(), ca_pem.as_bytes(), PUBLIC_MODE)?;
    let client = bootstrap_client(&cfg.server, &ca_pem, token).await?;
    request_client_cert(cfg, paths, client, ca_pem).await
}

/// Renews the client certificate with the current one.
async fn renew_client(
    cfg: &JoinConfig,
    paths: &AgentPaths,
    current: &NodeKubeconfig,
) -> Result<NodeKubeconfig> {
    let client = client_of(
        kube_config(&paths.kubeconfig(), &current.render()).await?,
        &paths.kubeconfig(),
    )?;
    request_client_cert(cfg, paths, client, current.ca_pem.clone())
        .await
        .map_err(|e| match e {
            Error::Unauthorized {
                server, operation, ..
            } => Error::Unauthorized {
                server,
                credential: "node certificate",
                operation,
                hint: "the node certificate is not trusted; remove the agent's kubeconfig and join again with a token",
            },
            other => other,
        })
}

async fn request_client_cert(
    cfg: &JoinConfig,
    paths: &AgentPaths,
    client: kube::Client,
    ca_pem: String,
) -> Result<NodeKubeconfig> {
    let request = node_request(&cfg.node_name, &Purpose::Client)?;
    write_file(&paths.client_key(), request.key_pem.as_bytes(), SECRET_MODE)?;
    let cert_pem = request::submit_and_wait(
        client,
        &cfg.server,
        &request,
        &Purpose::Client,
        cfg.approval_timeout,
    )
    .await?;
    write_file(&paths.client_cert(), cert_pem.as_bytes(), PUBLIC_MODE)?;
    let node = NodeKubeconfig {
        server: cfg.server.clone(),
        ca_pem,
        cert_pem,
        key_pem: request.key_pem,
        user: format!("system:node:{}", cfg.node_name),
    };
    write_file(&paths.kubeconfig(), node.render().as_bytes(), SECRET_MODE)?;
    tracing::info!(node = %cfg.node_name, kubeconfig = %paths.kubeconfig().display(), "node credentials written");
    Ok(node)
}

/// The DNS names of the serving certificate: the node name and the host name.
fn serving_names(node_name: &str) -> Vec<String> {
    let mut names = vec![node_name.to_owned()];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim().to_lowercase();
        if !host.is_empty() && !names.contains(&host) {
            names.push(host);
        }
    }
    names
}

/// Keeps `<data-dir>/pki/serving.{crt,key}` fresh and covering the node's names.
async fn ensure_serving(cfg: &JoinConfig, paths: &AgentPaths, creds: &Credentials) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let dns_names = serving_names(&cfg.node_name);
    let current = read_optional(&paths.serving_cert())?
        .zip(read_optional(&paths.serving_key())?)
        .and_then(|(cert, _)| CertSummary::from_pem(&cert).ok());
    let covers = |c: &CertSummary| {
        c.is_fresh(now)
            && dns_names.iter().all(|n| c.dns_names.contains(n))
            && cfg.node_ips.iter().all(|ip| c.ip_addresses.contains(ip))
    };
    if current.as_ref().is_some_and(covers) {
        return Ok(());
    }
    let purpose = Purpose::Serving {
        dns_names,
        ip_addresses: cfg.node_ips.clone(),
    };
    let request = node_request(&cfg.node_name, &purpose)?;
    let client = creds.client().await?;
    let cert = request::submit_and_wait(
        client,
        &cfg.server,
        &request,
        &purpose,
        cfg.approval_timeout,
    )
    .await
    .map_err(|e| match e {
        Error::Unauthorized {
            server, operation, ..
        } => Error::Unauthorized {
            server,
            credential: "node certificate",
            operation,
            hint: "the node certificate is not trusted; remove the agent's kubeconfig and join again with a token",
        },
        other => other,
    })?;
    write_file(
        &paths.serving_key(),
        request.key_pem.as_bytes(),
        SECRET_MODE,
    )?;
    write_file(&paths.serving_cert(), cert.as_bytes(), PUBLIC_MODE)?;
    tracing::info!(node = %cfg.node_name, "serving certificate written");
    Ok(())
}
