//! Reading and atomically replacing kubeconfig files.

use std::fs::{DirBuilder, File, Permissions};
use std::io::{self, ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How many symlinks to follow before giving up (Linux's own limit).
const MAX_SYMLINKS: usize = 40;

/// Reads `path`, treating a missing file as empty.
pub(crate) fn read_optional(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Replaces `path` with `contents`, mode 0600, atomically: a temp file in the same directory is
/// written, fsynced, chmodded and renamed over the target. A symlinked `path` is written through
/// to its target, so the link survives. Missing parent directories are created 0700.
pub fn write_file(path: &Path, contents: &str) -> Result<()> {
    let wrap = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let target = follow_symlinks(path).map_err(wrap)?;
    create_parent_dir(&target).map_err(wrap)?;
    let dir = parent_dir(&target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kubeconfig".to_owned());
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(wrap)?;
    temp.write_all(contents.as_bytes()).map_err(wrap)?;
    temp.as_file().sync_all().map_err(wrap)?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(0o600))
        .map_err(wrap)?;
    temp.persist(&target).map_err(|e| wrap(e.error))?;
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), error = %e, "failed to fsync kubeconfig directory");
    }
    Ok(())
}

/// Creates the parent directory of `path` (0700) when it is missing.
pub(crate) fn create_parent_dir(path: &Path) -> io::Result<()> {
    let dir = parent_dir(path);
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file `path` finally points at, following symlinks (even a dangling last one).
fn follow_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = if link.is_absolute() {
                    link
                } else {
                    parent_dir(&current).join(link)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_SYMLINKS} symlinks to follow from {}",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replaces_a_0644_file_with_a_0600_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        write_file(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn creates_missing_parent_directories_0700() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kube").join("config");
        write_file(&path, "x").unwrap();
        assert_eq!(mode(&dir.path().join(".kube")), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn writes_through_a_symlink_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-config");
        let link = dir.path().join("config");
        std::fs::write(&real, "old").unwrap();
        symlink("real-config", &link).unwrap();
        write_file(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn leaves_no_temp_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        write_file(&dir.path().join("config"), "x").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config"]);
    }

    #[test]
    fn missing_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("absent")).unwrap(), "");
    }
}
