//! Registry mirrors: containerd's per-registry `hosts.toml` files (`config_path` layout,
//! `<dir>/<registry>/hosts.toml`), written from `--registry-mirror REGISTRY=URL` so a cluster can
//! pull through a local registry, even for `:latest` images whose pull policy is Always.
//!
//! Only files this module wrote (their first line is [`MARKER`]) are ever replaced or removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The first line of every `hosts.toml` clusterd writes; files without it are never touched.
pub const MARKER: &str = "# written by clusterd";

/// The default directory containerd reads registry hosts from.
pub const DEFAULT_REGISTRY_CONFIG_DIR: &str = "/etc/containerd/certs.d";

/// One mirror of one registry, as given by `--registry-mirror REGISTRY=URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMirror {
    /// The registry whose pulls go through the mirror, e.g. `docker.io` or `registry.local:5000`.
    pub registry: String,
    /// The mirror's endpoint, `http://` or `https://`, e.g. `http://192.168.1.10:5000`.
    pub url: String,
}

impl RegistryMirror {
    /// Parses `REGISTRY=URL` (the `--registry-mirror` flag), validating both halves.
    pub fn parse(spec: &str) -> Result<RegistryMirror> {
        let invalid = |reason: String| Error::Invalid {
            what: format!("--registry-mirror {spec:?}"),
            reason,
        };
        let (registry, url) = spec.split_once('=').ok_or_else(|| {
            invalid(
                "missing `=`: expected REGISTRY=URL, e.g. docker.io=http://10.0.0.5:5000".into(),
            )
        })?;
        let registry = registry.trim();
        let url = url.trim();
        validate_registry(registry).map_err(invalid)?;
        validate_url(url).map_err(invalid)?;
        Ok(RegistryMirror {
            registry: registry.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
        })
    }
}

/// Checks a registry host name (with an optional port) usable as a directory name.
pub fn validate_registry(registry: &str) -> std::result::Result<(), String> {
    if registry.is_empty() {
        return Err("the registry name is empty".into());
    }
    if registry.starts_with('.') || registry.starts_with('-') {
        return Err(format!(
            "registry {registry:?} must start with a letter or digit"
        ));
    }
    if let Some(c) = registry
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_')))
    {
        return Err(format!(
            "registry {registry:?} contains {c:?}; give a host name with an optional port, e.g. docker.io or registry.local:5000"
        ));
    }
    Ok(())
}

/// Checks a mirror URL: `http://` or `https://`, a host, no spaces or quotes.
pub fn validate_url(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("mirror URL {url:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("mirror URL {url:?} has no host"));
    }
    if let Some(c) = url
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '\''))
    {
        return Err(format!("mirror URL {url:?} contains {c:?}"));
    }
    Ok(())
}

/// The registry's own endpoint, the `server` of its `hosts.toml` (used when no mirror answers).
pub fn upstream_server(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://registry-1.docker.io".into()
        }
        other => format!("https://{other}"),
    }
}

/// The `hosts.toml` for `registry` with `urls` as mirrors, tried in order before the registry.
pub fn render_hosts_toml(registry: &str, urls: &[String]) -> String {
    let mut out = format!(
        "{MARKER}; changes are overwritten and the file is removed when the mirror is no longer configured.\n\
         server = \"{}\"\n",
        upstream_server(registry)
    );
    for url in urls {
        out.push_str(&format!(
            "\n[host.\"{url}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ));
    }
    out
}

/// Writes `<dir>/<registry>/hosts.toml` for every registry in `mirrors` (several mirrors of one
/// registry are kept in the given order) and removes the `hosts.toml` files clusterd wrote
/// earlier for registries no longer listed. Returns the files written.
pub fn write_registry_mirrors(dir: &Path, mirrors: &[RegistryMirror]) -> Result<Vec<PathBuf>> {
    let mut by_registry: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for mirror in mirrors {
        validate_registry(&mirror.registry).map_err(|reason| Error::Invalid {
            what: format!("registry mirror {}={}", mirror.registry, mirror.url),
            reason,
        })?;
        validate_url(&mirror.url).map_err(|reason| Error::Invalid {
            what: format!("registry mirror {}={}", mirror.registry, mirror.url),
            reason,
        })?;
        let urls = by_registry.entry(&mirror.registry).or_default();
        if !urls.contains(&mirror.url) {
            urls.push(mirror.url.clone());
        }
    }
    remove_stale(dir, &by_registry)?;
    let mut written = Vec::new();
    for (registry, urls) in &by_registry {
        let registry_dir = dir.join(registry);
        let file = registry_dir.join("hosts.toml");
        if file.exists() && !written_by_us(&file) {
            tracing::warn!(file = %file.display(), "not replacing a hosts.toml clusterd did not write; the mirror for {registry} is not applied");
            continue;
        }
        std::fs::create_dir_all(&registry_dir)
            .map_err(|e| Error::io("create registry config dir", &registry_dir, e))?;
        std::fs::write(&file, render_hosts_toml(registry, urls))
            .map_err(|e| Error::io("write registry mirror config", &file, e))?;
        written.push(file);
    }
    Ok(written)
}

/// Removes clusterd's `hosts.toml` files under `dir` whose registry is not in `keep`.
fn remove_stale(dir: &Path, keep: &BTreeMap<&str, Vec<String>>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read registry config dir", dir, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep.contains_key(name.as_str()) {
            continue;
        }
        let file = entry.path().join("hosts.toml");
        if !written_by_us(&file) {
            continue;
        }
        std::fs::remove_file(&file)
            .map_err(|e| Error::io("remove stale registry mirror config", &file, e))?;
        // Only an emptied directory goes; anything else in it (certificates) stays.
        let _ = std::fs::remove_dir(entry.path());
        tracing::info!(registry = %name, "removed a registry mirror no longer configured");
    }
    Ok(())
}

/// True when `file`'s first line is clusterd's marker.
fn written_by_us(file: &Path) -> bool {
    std::fs::read_to_string(file)
        .map(|text| text.lines().next().is_some_and(|l| l.starts_with(MARKER)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(spec: &str) -> RegistryMirror {
        RegistryMirror::parse(spec).unwrap()
    }

    #[test]
    fn parses_registry_equals_url() {
        assert_eq!(
            mirror("docker.io=http://192.168.1.10:5000/"),
            RegistryMirror {
                registry: "docker.io".into(),
                url: "http://192.168.1.10:5000".into()
            }
        );
        assert_eq!(
            mirror("registry.local:5000=https://m.example").registry,
            "registry.local:5000"
        );
    }

    #[test]
    fn refuses_a_missing_equals_and_bad_urls_naming_the_flag() {
        let error = RegistryMirror::parse("docker.io").unwrap_err().to_string();
        assert!(error.contains("--registry-mirror \"docker.io\""), "{error}");
        assert!(error.contains("missing `=`"), "{error}");

        let error = RegistryMirror::parse("docker.io=ftp://x")
            .unwrap_err()
            .to_string();
        assert!(error.contains("ftp://x"), "{error}");
        assert!(error.contains("http:// or https://"), "{error}");

        let error = RegistryMirror::parse("docker.io=http://")
            .unwrap_err()
            .to_string();
        assert!(error.contains("has no host"), "{error}");

        let error = RegistryMirror::parse("docker.io=http://a b")
            .unwrap_err()
            .to_string();
        assert!(error.contains("contains ' '"), "{error}");

        let error = RegistryMirror::parse("../etc=http://a")
            .unwrap_err()
            .to_string();
        assert!(error.contains("registry \"../etc\""), "{error}");

        let error = RegistryMirror::parse("=http://a").unwrap_err().to_string();
        assert!(error.contains("registry name is empty"), "{error}");
    }

    #[test]
    fn renders_the_upstream_server_and_each_mirror_in_order() {
        let text = render_hosts_toml(
            "docker.io",
            &["http://10.0.0.5:5000".into(), "https://m2.local".into()],
        );
        assert!(text.starts_with(MARKER), "{text}");
        assert!(
            text.contains("server = \"https://registry-1.docker.io\"\n"),
            "{text}"
        );
        let first = text.find("[host.\"http://10.0.0.5:5000\"]").expect(&text);
        let second = text.find("[host.\"https://m2.local\"]").expect(&text);
        assert!(first < second, "{text}");
        assert_eq!(
            text.matches("capabilities = [\"pull\", \"resolve\"]")
                .count(),
            2,
            "{text}"
        );
        assert!(!text.contains("skip_verify"), "{text}");
        assert!(render_hosts_toml("quay.io", &[]).contains("server = \"https://quay.io\""));
    }

    #[test]
    fn writes_one_file_per_registry_and_removes_only_its_own_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        // Someone else's configuration, never touched.
        let foreign = dir.path().join("ghcr.io/hosts.toml");
        std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
        std::fs::write(&foreign, "server = \"https://ghcr.io\"\n").unwrap();

        let written = write_registry_mirrors(
            dir.path(),
            &[
                mirror("docker.io=http://10.0.0.5:5000"),
                mirror("quay.io=http://10.0.0.6:5000"),
                mirror("docker.io=http://10.0.0.7:5000"),
            ],
        )
        .unwrap();
        assert_eq!(written.len(), 2);
        let docker = std::fs::read_to_string(dir.path().join("docker.io/hosts.toml")).unwrap();
        assert!(docker.contains("http://10.0.0.5:5000") && docker.contains("http://10.0.0.7:5000"));
        assert!(dir.path().join("quay.io/hosts.toml").exists());

        // quay.io is no longer configured: its file (and emptied dir) goes, the foreign one stays.
        let ca = dir.path().join("docker.io/ca.crt");
        std::fs::write(&ca, "cert").unwrap();
        write_registry_mirrors(dir.path(), &[mirror("docker.io=http://10.0.0.5:5000")]).unwrap();
        assert!(!dir.path().join("quay.io").exists());
        let docker = std::fs::read_to_string(dir.path().join("docker.io/hosts.toml")).unwrap();
        assert!(!docker.contains("10.0.0.7"), "{docker}");
        assert_eq!(
            std::fs::read_to_string(&foreign).unwrap(),
            "server = \"https://ghcr.io\"\n"
        );

        // No mirrors at all: clusterd's files go, the docker.io dir stays for its certificate.
        write_registry_mirrors(dir.path(), &[]).unwrap();
        assert!(!dir.path().join("docker.io/hosts.toml").exists());
        assert!(ca.exists());
        assert!(foreign.exists());
    }

    #[test]
    fn never_replaces_a_foreign_hosts_toml() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("docker.io/hosts.toml");
        std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
        std::fs::write(&foreign, "server = \"https://mine\"\n").unwrap();
        let written =
            write_registry_mirrors(dir.path(), &[mirror("docker.io=http://10.0.0.5:5000")])
                .unwrap();
        assert!(written.is_empty());
        assert_eq!(
            std::fs::read_to_string(&foreign).unwrap(),
            "server = \"https://mine\"\n"
        );
    }

    #[test]
    fn a_missing_dir_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        write_registry_mirrors(&nested, &[mirror("docker.io=http://10.0.0.5:5000")]).unwrap();
        assert!(nested.join("docker.io/hosts.toml").exists());
        write_registry_mirrors(&dir.path().join("absent"), &[]).unwrap();
    }
}
