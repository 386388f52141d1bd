//! The typed view of a kubeconfig: what clusterctl writes, and what it reads back.
//!
//! Field order follows kubectl's output (alphabetical, as `sigs.k8s.io/yaml` writes it), so
//! entries rendered from these types look like the ones kubectl writes. Fields clusterctl does
//! not model (`proxy-url`, `auth-provider`, `extensions`, ...) are ignored when reading; the
//! files themselves are never rewritten from this view, so nothing is lost on disk.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};

/// The `apiVersion` of exec credential plugins clusterctl configures.
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// Names the context for `cluster` created by `provider`: `<provider>-<cluster>`, e.g. `local-dev`.
///
/// clusterctl names the cluster and user entries it adds exactly like the context (the kind
/// convention), so `remove` can delete exactly what was added and nothing else.
pub fn context_name(provider: &str, cluster: &str) -> String {
    format!("{provider}-{cluster}")
}

/// A whole kubeconfig document (`kind: Config`), or the merged view of several.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Kubeconfig {
    /// Always `v1` for files clusterctl creates.
    #[serde(rename = "apiVersion", default, deserialize_with = "null_as_default")]
    pub api_version: String,
    /// Cluster entries, in file order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub clusters: Vec<NamedCluster>,
    /// Context entries, in file order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub contexts: Vec<NamedContext>,
    /// The context kubectl uses by default; empty when none is set.
    #[serde(
        rename = "current-context",
        default,
        deserialize_with = "null_as_default"
    )]
    pub current_context: String,
    /// Always `Config`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// kubectl's preferences block; clusterctl keeps it empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub preferences: Preferences,
    /// User (credential) entries, in file order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<NamedUser>,
}

/// kubectl's `preferences` block, which clusterctl neither reads nor sets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preferences {}

/// A `clusters[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamedCluster {
    /// How to reach the API server.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster: Cluster,
    /// The entry's name, referenced by contexts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

/// How to reach and trust an API server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// The CA bundle (PEM), base64-encoded as kubeconfig stores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// Skip verifying the server certificate (never set by clusterctl's own providers).
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_tls_verify: bool,
    /// The API server URL, e.g. `https://127.0.0.1:6443`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server: String,
    /// The name to verify the server certificate against, when it differs from the URL host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
}

impl Cluster {
    /// A cluster at `server` trusted through the PEM CA bundle `ca_pem`.
    pub fn new(server: impl Into<String>, ca_pem: &[u8]) -> Self {
        Self {
            certificate_authority_data: Some(
                base64::engine::general_purpose::STANDARD.encode(ca_pem),
            ),
            server: server.into(),
            ..Self::default()
        }
    }

    /// The same cluster, verified against `name` instead of the URL host.
    pub fn with_tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }
}

/// A `users[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamedUser {
    /// The entry's name, referenced by contexts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The credentials.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: User,
}

/// Credentials: a client certificate, a bearer token, or an exec plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    /// The client certificate (PEM), base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// The client key (PEM), base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// A credential plugin run by kubectl (e.g. `aws eks get-token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecConfig>,
    /// A bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl User {
    /// Authenticates with the PEM client certificate `cert_pem` and its key `key_pem`.
    pub fn client_certificate(cert_pem: &[u8], key_pem: &[u8]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            client_certificate_data: Some(b64.encode(cert_pem)),
            client_key_data: Some(b64.encode(key_pem)),
            ..Self::default()
        }
    }

    /// Authenticates with a bearer token.
    pub fn token(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::default()
        }
    }

    /// Authenticates through an exec credential plugin.
    pub fn exec(exec: ExecConfig) -> Self {
        Self {
            exec: Some(exec),
            ..Self::default()
        }
    }
}

/// An exec credential plugin (`users[].user.exec`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    /// The ExecCredential version the plugin speaks; [`EXEC_API_VERSION`] by default.
    #[serde(default, deserialize_with = "null_as_default")]
    pub api_version: String,
    /// Arguments passed to the command.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub args: Vec<String>,
    /// The program to run, looked up on `PATH`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub command: String,
    /// Extra environment variables for the command.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub env: Vec<ExecEnvVar>,
    /// Whether the plugin may prompt on stdin; clusterctl uses `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive_mode: Option<InteractiveMode>,
    /// Pass the cluster's server and CA to the plugin in `KUBERNETES_EXEC_INFO`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub provide_cluster_info: bool,
}

impl ExecConfig {
    /// Runs `command args...`, non-interactively, speaking [`EXEC_API_VERSION`].
    pub fn new<I, S>(command: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            api_version: EXEC_API_VERSION.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            command: command.into(),
            env: Vec::new(),
            interactive_mode: Some(InteractiveMode::Never),
            provide_cluster_info: false,
        }
    }

    /// The same plugin with `name=value` in its environment.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(ExecEnvVar {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// The same plugin, told whether to receive the cluster info.
    pub fn with_cluster_info(mut self, provide: bool) -> Self {
        self.provide_cluster_info = provide;
        self
    }
}

/// One environment variable of an exec plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExecEnvVar {
    /// Variable name.
    pub name: String,
    /// Variable value.
    pub value: String,
}

/// Whether an exec plugin may use stdin to prompt the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractiveMode {
    /// Never prompt; what clusterctl configures.
    Never,
    /// Prompt only when stdin is a terminal.
    IfAvailable,
    /// Always prompt; fails without a terminal.
    Always,
}

/// A `contexts[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamedContext {
    /// Which cluster and user the context pairs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub context: Context,
    /// The context's name, as given to `kubectl config use-context`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

/// A cluster, a user and an optional default namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    /// Name of the cluster entry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster: String,
    /// Default namespace for commands in this context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the user entry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: String,
}

/// What clusterctl adds for one cluster: a cluster, a user and a context, all named `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The context name (see [`context_name`]), also used for the cluster and user entries.
    pub name: String,
    /// How to reach the API server.
    pub cluster: Cluster,
    /// The credentials.
    pub user: User,
    /// Default namespace of the context, if any.
    pub namespace: Option<String>,
}

impl Entry {
    /// An entry named `name` pairing `cluster` with `user`.
    pub fn new(name: impl Into<String>, cluster: Cluster, user: User) -> Self {
        Self {
            name: name.into(),
            cluster,
            user,
            namespace: None,
        }
    }

    /// The same entry with a default namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// The `clusters[]` item of this entry.
    pub fn named_cluster(&self) -> NamedCluster {
        NamedCluster {
            cluster: self.cluster.clone(),
            name: self.name.clone(),
        }
    }

    /// The `users[]` item of this entry.
    pub fn named_user(&self) -> NamedUser {
        NamedUser {
            name: self.name.clone(),
            user: self.user.clone(),
        }
    }

    /// The `contexts[]` item of this entry.
    pub fn named_context(&self) -> NamedContext {
        NamedContext {
            context: Context {
                cluster: self.name.clone(),
                namespace: self.namespace.clone(),
                user: self.name.clone(),
            },
            name: self.name.clone(),
        }
    }

    /// A kubeconfig holding only this entry, with it as current context.
    pub fn to_kubeconfig(&self) -> Kubeconfig {
        Kubeconfig {
            api_version: "v1".to_owned(),
            clusters: vec![self.named_cluster()],
            contexts: vec![self.named_context()],
            current_context: self.name.clone(),
            kind: "Config".to_owned(),
            preferences: Preferences::default(),
            users: vec![self.named_user()],
        }
    }
}

impl Kubeconfig {
    /// The context names, in file order.
    pub fn context_names(&self) -> Vec<&str> {
        self.contexts.iter().map(|c| c.name.as_str()).collect()
    }

    /// The current context, if one is set.
    pub fn current_context(&self) -> Option<&str> {
        Some(self.current_context.as_str()).filter(|c| !c.is_empty())
    }

    /// The context named `name`.
    pub fn context(&self, name: &str) -> Option<&NamedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The cluster entry named `name`.
    pub fn cluster(&self, name: &str) -> Option<&NamedCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The user entry named `name`.
    pub fn user(&self, name: &str) -> Option<&NamedUser> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds the entries of `later` that this view lacks, like client-go's merge of `$KUBECONFIG`:
    /// the first file to define a name wins, and the first non-empty current-context wins.
    pub fn merge_missing(&mut self, later: Kubeconfig) {
        for c in later.clusters {
            if self.cluster(&c.name).is_none() {
                self.clusters.push(c);
            }
        }
        for c in later.contexts {
            if self.context(&c.name).is_none() {
                self.contexts.push(c);
            }
        }
        for u in later.users {
            if self.user(&u.name).is_none() {
                self.users.push(u);
            }
        }
        if self.current_context.is_empty() {
            self.current_context = later.current_context;
        }
        if self.api_version.is_empty() {
            self.api_version = later.api_version;
        }
        if self.kind.is_empty() {
            self.kind = later.kind;
        }
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

/// kubectl writes absent lists as `null`; read those (and any other null) as the default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_name_joins_provider_and_cluster() {
        assert_eq!(context_name("local", "dev"), "local-dev");
        assert_eq!(context_name("eks", "my-cluster"), "eks-my-cluster");
    }

    #[test]
    fn reads_kubectl_nulls_as_empty() {
        let text = "apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n";
        let config: Kubeconfig = serde_yaml::from_str(text).unwrap();
        assert!(config.clusters.is_empty() && config.users.is_empty());
        assert_eq!(config.current_context(), None);
    }

    #[test]
    fn exec_user_serializes_in_kubectl_field_order() {
        let user =
            User::exec(ExecConfig::new("aws", ["eks", "get-token"]).with_env("AWS_PROFILE", "dev"));
        let text = serde_yaml::to_string(&user).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.starts_with("  -"))
            .map(|l| l.trim().split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            ["apiVersion", "args", "command", "env", "interactiveMode"]
        );
        assert!(text.contains("interactiveMode: Never"), "{text}");
    }

    #[test]
    fn cluster_new_base64_encodes_the_ca() {
        let cluster = Cluster::new("https://127.0.0.1:6443", b"PEM");
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("UEVN"));
    }

    #[test]
    fn merge_missing_keeps_the_first_definition_of_a_name() {
        let a = Entry::new("a", Cluster::new("https://first", b""), User::token("t1"));
        let b = Entry::new("a", Cluster::new("https://second", b""), User::token("t2"));
        let mut merged = a.to_kubeconfig();
        let mut later = b.to_kubeconfig();
        later.contexts[0].name = "b".to_owned();
        merged.merge_missing(later);
        assert_eq!(merged.cluster("a").unwrap().cluster.server, "https://first");
        assert_eq!(merged.context_names(), ["a", "b"]);
        assert_eq!(merged.current_context(), Some("a"));
    }
}
