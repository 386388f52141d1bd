//! The clusterd bytes clusterctl carries and uploads to every `local` and `ssh` node.
//!
//! A release build made by `scripts/build` embeds clusterd (set `CLUSTERCTL_EMBED_CLUSTERD` to its path
//! when building), so one file is all a user installs. A plain `cargo build` embeds nothing; then the
//! bundle falls back to `$CLUSTERCTL_CLUSTERD` or a `clusterd` file next to the running executable, which
//! is where cargo puts it in a workspace build.

use sha2::{Digest, Sha256};
use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::Command,
};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

static EMBEDDED_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/clusterd.bin"));

/// Environment variable naming a clusterd binary to use when none is embedded.
pub const CLUSTERD_ENV: &str = "CLUSTERCTL_CLUSTERD";

/// Errors of finding, verifying, extracting or running the bundled clusterd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing embedded and nothing found at run time.
    #[error(
        "this clusterctl carries no clusterd binary and none was found at {searched}; build with \
         `scripts/build` (which embeds it) or set {CLUSTERD_ENV} to a clusterd binary"
    )]
    NotBundled {
        /// Where the fallback looked.
        searched: String,
    },
    /// Reading a clusterd file failed.
    #[error("read clusterd from {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the extracted binary failed.
    #[error("write clusterd to {path}: {source}")]
    Write {
        /// The destination.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes on disk do not match the expected digest.
    #[error("clusterd at {path} has sha256 {actual}, expected {expected}")]
    DigestMismatch {
        /// The file checked.
        path: PathBuf,
        /// The digest the bundle carries.
        expected: String,
        /// The digest found.
        actual: String,
    },
    /// Running `clusterd --version` failed.
    #[error("run `{command}`: {detail}")]
    Run {
        /// The command line.
        command: String,
        /// Exit status and stderr, or the spawn error.
        detail: String,
    },
}

/// Result of bundle operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the clusterd bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Carried inside this executable.
    Embedded,
    /// Read from a file at run time (development builds).
    File(PathBuf),
}

/// The clusterd binary with its digest.
#[derive(Debug, Clone)]
pub struct Clusterd {
    bytes: std::borrow::Cow<'static, [u8]>,
    sha256: String,
    origin: Origin,
}

impl Clusterd {
    /// The clusterd this clusterctl uses: embedded, else `$CLUSTERCTL_CLUSTERD`, else next to the executable.
    pub fn locate() -> Result<Self> {
        if embedded::EMBEDDED {
            return Ok(Self::embedded_unchecked());
        }
        let mut searched = Vec::new();
        if let Some(path) = std::env::var_os(CLUSTERD_ENV).filter(|p| !p.is_empty()) {
            return Self::from_file(Path::new(&path));
        }
        searched.push(format!("${CLUSTERD_ENV} (unset)"));
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            // Test binaries live in target/<profile>/deps; the workspace binaries one level up.
            for candidate in [dir.join("clusterd"), dir.join("../clusterd")] {
                if candidate.is_file() {
                    return Self::from_file(&candidate);
                }
                searched.push(candidate.display().to_string());
            }
        }
        Err(Error::NotBundled {
            searched: searched.join(", "),
        })
    }

    /// The embedded clusterd, if this build carries one.
    pub fn embedded() -> Option<Self> {
        embedded::EMBEDDED.then(Self::embedded_unchecked)
    }

    fn embedded_unchecked() -> Self {
        Self {
            bytes: std::borrow::Cow::Borrowed(EMBEDDED_BYTES),
            sha256: embedded::EMBEDDED_SHA256.to_string(),
            origin: Origin::Embedded,
        }
    }

    /// A clusterd read from `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            sha256: sha256_hex(&bytes),
            bytes: std::borrow::Cow::Owned(bytes),
            origin: Origin::File(path.to_path_buf()),
        })
    }

    /// The binary's bytes, as uploaded to nodes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lowercase hex sha256 of [`Self::bytes`]; for embedded builds, the digest computed at build time.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Where these bytes came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Writes the binary to `path` (mode 0755, atomically) and verifies the written file's digest.
    pub fn extract_to(&self, path: &Path) -> Result<()> {
        let write_err = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("clusterd"),
            std::process::id()
        ));
        {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o755)
                .open(&tmp)
                .map_err(write_err)?;
            f.write_all(&self.bytes).map_err(write_err)?;
            f.sync_all().map_err(write_err)?;
        }
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(write_err)?;
        fs::rename(&tmp, path).map_err(write_err)?;
        verify_file(path, &self.sha256)
    }

    /// Extracts into `dir` and runs `clusterd --version`, returning its first output line.
    pub fn run_version(&self, dir: &Path) -> Result<String> {
        let path = dir.join("clusterd");
        self.extract_to(&path)?;
        let command = format!("{} --version", path.display());
        let out = Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| Error::Run {
                command: command.clone(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(Error::Run {
                command,
                detail: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string())
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks that the file at `path` has the given sha256.
pub fn verify_file(path: &Path, expected: &str) -> Result<()> {
    let bytes = fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(Error::DigestMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_binary(dir: &Path) -> PathBuf {
        let path = dir.join("fake-clusterd");
        fs::write(&path, "#!/bin/sh\necho \"clusterd v9.9.9\"\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn extract_writes_executable_bytes_that_match_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let src = fake_binary(dir.path());
        let bundle = Clusterd::from_file(&src).unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        assert_eq!(bundle.run_version(&out).unwrap(), "clusterd v9.9.9");
        let mode = fs::metadata(out.join("clusterd"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o755);
        assert_eq!(
            sha256_hex(&fs::read(out.join("clusterd")).unwrap()),
            bundle.sha256()
        );
    }

    #[test]
    fn verify_file_names_both_digests_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let src = fake_binary(dir.path());
        let err = verify_file(&src, "00").unwrap_err().to_string();
        assert!(err.contains("expected 00"), "{err}");
        assert!(err.contains(&sha256_hex(&fs::read(&src).unwrap())), "{err}");
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = Clusterd::from_file(Path::new("/nonexistent/clusterd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/clusterd"), "{err}");
    }
}
