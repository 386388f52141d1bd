//! Which kubeconfig file(s) to use, resolved like client-go.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kubeconfig files in loading precedence, and which one receives new entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    files: Vec<PathBuf>,
    from_env_list: bool,
}

impl Location {
    /// Resolves like kubectl: `explicit` (`--kubeconfig`) wins; else `$KUBECONFIG`; else
    /// `$HOME/.kube/config`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        let env = std::env::var_os("KUBECONFIG");
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::from_parts(explicit, env.as_deref(), home.as_deref())
    }

    /// [`Location::resolve`] with the environment passed in, for callers that already read it.
    ///
    /// `kubeconfig_env` is split on `:`; empty elements and repeats are dropped, as client-go does.
    pub fn from_parts(
        explicit: Option<&Path>,
        kubeconfig_env: Option<&OsStr>,
        home: Option<&Path>,
    ) -> Result<Self> {
        if let Some(path) = explicit.filter(|p| !p.as_os_str().is_empty()) {
            return Ok(Self::file(path));
        }
        if let Some(list) = kubeconfig_env {
            let mut files: Vec<PathBuf> = Vec::new();
            for path in std::env::split_paths(list) {
                if !path.as_os_str().is_empty() && !files.contains(&path) {
                    files.push(path);
                }
            }
            if !files.is_empty() {
                return Ok(Self {
                    files,
                    from_env_list: true,
                });
            }
        }
        match home.filter(|h| !h.as_os_str().is_empty()) {
            Some(home) => Ok(Self::file(home.join(".kube").join("config"))),
            None => Err(Error::NoLocation),
        }
    }

    /// Exactly one file, as with `--kubeconfig`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            files: vec![path.into()],
            from_env_list: false,
        }
    }

    /// The files in loading precedence (the first to define a name wins).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The file that receives new entries and the current context: client-go's
    /// `GetDefaultFilename`, i.e. the first file of a `$KUBECONFIG` list that exists, or the
    /// last one when none does.
    pub fn write_target(&self) -> &Path {
        if self.from_env_list && self.files.len() > 1 {
            if let Some(existing) = self.files.iter().find(|f| f.exists()) {
                return existing;
            }
        }
        self.files
            .last()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(""))
    }

    /// The files joined with `:`, for messages.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        names.join(":")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_over_env_and_home() {
        let loc = Location::from_parts(
            Some(Path::new("/x/config")),
            Some(OsStr::new("/a:/b")),
            Some(Path::new("/home/u")),
        )
        .unwrap();
        assert_eq!(loc.files(), [PathBuf::from("/x/config")]);
    }

    #[test]
    fn env_list_drops_empty_and_repeated_elements() {
        let loc = Location::from_parts(None, Some(OsStr::new("/a::/b:/a")), None).unwrap();
        assert_eq!(loc.files(), [PathBuf::from("/a"), PathBuf::from("/b")]);
    }

    #[test]
    fn empty_env_falls_back_to_home() {
        let loc =
            Location::from_parts(None, Some(OsStr::new("")), Some(Path::new("/home/u"))).unwrap();
        assert_eq!(loc.files(), [PathBuf::from("/home/u/.kube/config")]);
    }

    #[test]
    fn nothing_to_go_on_is_an_error() {
        let err = Location::from_parts(None, None, None).unwrap_err();
        assert!(err.to_string().contains("KUBECONFIG"), "{err}");
    }

    #[test]
    fn write_target_is_first_existing_env_file_else_last() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let list = std::env::join_paths([&a, &b]).unwrap();
        let loc = Location::from_parts(None, Some(&list), None).unwrap();
        assert_eq!(loc.write_target(), b);
        std::fs::write(&b, "").unwrap();
        assert_eq!(loc.write_target(), b);
        std::fs::write(&a, "").unwrap();
        assert_eq!(loc.write_target(), a);
    }
}
