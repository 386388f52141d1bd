//! Choosing a backend from a URL.

use std::path::PathBuf;
use std::str::FromStr;

use crate::{Error, EtcdConfig, EtcdTls, Result, SqliteConfig};

/// Where clusterd keeps its state unless told otherwise.
pub const DEFAULT_STORE_URL: &str = "sqlite:///var/lib/clusterd/state.db";

/// The port etcd listens on for clients when a URL names none.
const DEFAULT_ETCD_PORT: u16 = 2379;

/// Which backend to open, and how; parsed from a store URL.
///
/// - `sqlite:///var/lib/clusterd/state.db` (the default): embedded SQLite at that path (a relative
///   path follows `sqlite://` directly, e.g. `sqlite://state.db`). Optional query parameters:
///   `watch_buffer=N` (events kept for watchers), `read_connections=N`.
/// - `etcd://host:2379[,host:2379…]`: etcd v3 over plain HTTP/2.
/// - `etcd+https://host:2379[,…]?ca=FILE[&cert=FILE&key=FILE]`: etcd over TLS, verifying the server
///   with the CA in `ca`, and authenticating with a client certificate if `cert` and `key` are given.
///
/// Query values may be percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// Embedded SQLite.
    Sqlite(SqliteConfig),
    /// An etcd v3 cluster.
    Etcd(EtcdConfig),
}

impl StoreConfig {
    /// Parses a store URL (see the type's documentation for the accepted forms).
    pub fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("missing scheme".to_owned()))?;
        let (location, query) = match rest.split_once('?') {
            Some((location, query)) => (location, parse_query(query).map_err(invalid)?),
            None => (rest, Vec::new()),
        };
        match scheme {
            "sqlite" => parse_sqlite(location, query).map_err(invalid),
            "etcd" | "etcd+http" => parse_etcd(location, query, false).map_err(invalid),
            "etcd+https" => parse_etcd(location, query, true).map_err(invalid),
            other => Err(invalid(format!("unknown scheme {other:?}"))),
        }
    }
}

impl FromStr for StoreConfig {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self> {
        Self::parse(url)
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::Sqlite(SqliteConfig::new("/var/lib/clusterd/state.db"))
    }
}

fn parse_sqlite(
    path: &str,
    query: Vec<(String, String)>,
) -> std::result::Result<StoreConfig, String> {
    if path.is_empty() {
        return Err("missing database path".to_owned());
    }
    let mut config = SqliteConfig::new(path);
    for (name, value) in query {
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} must be a positive integer, got {value:?}"))
        };
        match name.as_str() {
            "watch_buffer" => config.watch_buffer = number()?,
            "read_connections" => config.read_connections = number()?,
            _ => return Err(format!("unknown sqlite option {name:?}")),
        }
    }
    Ok(StoreConfig::Sqlite(config))
}

fn parse_etcd(
    location: &str,
    query: Vec<(String, String)>,
    https: bool,
) -> std::result::Result<StoreConfig, String> {
    let hosts = location.strip_suffix('/').unwrap_or(location);
    if hosts.is_empty() {
        return Err("missing etcd host".to_owned());
    }
    let scheme = if https { "https" } else { "http" };
    let mut endpoints = Vec::new();
    for host in hosts.split(',') {
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(format!("invalid etcd host {host:?}"));
        }
        let has_port = match host.rsplit_once(':') {
            // `[::1]` has colons but no port; `[::1]:2379` and `host:2379` have one.
            Some((_, port)) if !port.ends_with(']') => {
                port.parse::<u16>()
                    .map_err(|_| format!("invalid port in etcd host {host:?}"))?;
                true
            }
            _ => false,
        };
        endpoints.push(if has_port {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{DEFAULT_ETCD_PORT}")
        });
    }
    let mut tls = EtcdTls::default();
    for (name, value) in query {
        let path = Some(PathBuf::from(value));
        match name.as_str() {
            "ca" => tls.ca = path,
            "cert" => tls.cert = path,
            "key" => tls.key = path,
            _ => return Err(format!("unknown etcd option {name:?}")),
        }
    }
    let tls = if https {
        if tls.ca.is_none() {
            return Err("etcd+https needs ca=FILE, the CA that signed the etcd server".to_owned());
        }
        if tls.cert.is_some() != tls.key.is_some() {
            return Err("a client certificate needs both cert=FILE and key=FILE".to_owned());
        }
        Some(tls)
    } else {
        if tls != EtcdTls::default() {
            return Err("ca, cert and key need the etcd+https scheme".to_owned());
        }
        None
    };
    Ok(StoreConfig::Etcd(EtcdConfig { endpoints, tls }))
}

fn parse_query(query: &str) -> std::result::Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("option {pair:?} has no value"))?;
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> std::result::Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid percent escape in {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(url: &str) -> EtcdConfig {
        match StoreConfig::parse(url).unwrap() {
            StoreConfig::Etcd(config) => config,
            other => panic!("{url} parsed as {other:?}"),
        }
    }

    fn error(url: &str) -> String {
        StoreConfig::parse(url).unwrap_err().to_string()
    }

    #[test]
    fn default_url_is_sqlite_under_var_lib() {
        assert_eq!(
            StoreConfig::parse(DEFAULT_STORE_URL).unwrap(),
            StoreConfig::default()
        );
        match StoreConfig::default() {
            StoreConfig::Sqlite(config) => {
                assert_eq!(config.path, PathBuf::from("/var/lib/clusterd/state.db"))
            }
            other => panic!("default is {other:?}"),
        }
    }

    #[test]
    fn sqlite_accepts_relative_paths_and_options() {
        let StoreConfig::Sqlite(config) =
            StoreConfig::parse("sqlite://data/state.db?watch_buffer=64&read_connections=2")
                .unwrap()
        else {
            panic!("not sqlite");
        };
        assert_eq!(config.path, PathBuf::from("data/state.db"));
        assert_eq!(config.watch_buffer, 64);
        assert_eq!(config.read_connections, 2);
    }

    #[test]
    fn etcd_hosts_become_http_endpoints_with_default_port() {
        let config = etcd("etcd://10.0.0.1:2379,10.0.0.2,[::1]:4001,[::1]");
        assert_eq!(
            config.endpoints,
            [
                "http://10.0.0.1:2379",
                "http://10.0.0.2:2379",
                "http://[::1]:4001",
                "http://[::1]:2379"
            ]
        );
        assert_eq!(config.tls, None);
    }

    #[test]
    fn etcd_https_carries_decoded_tls_paths() {
        let config = etcd(
            "etcd+https://etcd.local:2379/?ca=/pki/etcd/ca.crt&cert=/pki/my%20client.crt&key=/pki/client.key",
        );
        assert_eq!(config.endpoints, ["https://etcd.local:2379"]);
        let tls = config.tls.unwrap();
        assert_eq!(tls.ca, Some(PathBuf::from("/pki/etcd/ca.crt")));
        assert_eq!(tls.cert, Some(PathBuf::from("/pki/my client.crt")));
        assert_eq!(tls.key, Some(PathBuf::from("/pki/client.key")));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(error("postgres://db").contains("unknown scheme \"postgres\""));
        assert!(error("/var/lib/state.db").contains("missing scheme"));
        assert!(error("sqlite://").contains("missing database path"));
        assert!(error("sqlite://a.db?watch_buffer=0").contains("positive integer"));
        assert!(error("etcd://h:notaport").contains("invalid port"));
        assert!(error("etcd+https://h:2379").contains("needs ca=FILE"));
        assert!(error("etcd+https://h:2379?ca=/c&cert=/x").contains("both cert=FILE and key=FILE"));
        assert!(error("etcd://h:2379?ca=/c").contains("need the etcd+https scheme"));
        assert!(error("etcd://h:2379?timeout=3").contains("unknown etcd option"));
        assert!(error("etcd://h:2379/v3").contains("invalid etcd host"));
    }
}
