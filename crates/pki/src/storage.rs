//! Reading and atomically writing PKI files with the right modes.

use crate::error::{Error, Result};
use std::{
    fs::{self, File, OpenOptions, Permissions},
    io::{ErrorKind, Write},
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::Path,
};

/// Mode of private key files.
pub(crate) const KEY_MODE: u32 = 0o600;
/// Mode of certificates and public keys.
pub(crate) const CERT_MODE: u32 = 0o644;
/// Mode of directories the crate creates.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Reads `path`, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Replaces `path` with `bytes` atomically: a temp file in the same directory, given `mode` before any
/// byte is written, synced, then renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let write_err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(write_err)?;
    // The umask may have narrowed the mode given at creation; set it exactly.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    if let Ok(d) = File::open(dir) {
        // Best effort: make the rename itself durable.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Narrows an existing key file to 0600 when it is readable by group or others.
pub(crate) fn tighten_key_mode(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "private key was readable by others; setting mode 0600");
        fs::set_permissions(path, Permissions::from_mode(KEY_MODE)).map_err(|source| {
            Error::Write {
                path: path.to_owned(),
                source,
            }
        })?;
    }
    Ok(())
}

/// An exclusive lock on a PKI directory, held until dropped, so two processes never issue at once.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Creates the directory if needed and blocks until the lock file `lock_path` is ours.
    pub(crate) fn acquire(lock_path: &Path) -> Result<Self> {
        if let Some(dir) = lock_path.parent() {
            ensure_dir(dir)?;
        }
        let lock_err = |source| Error::Lock {
            path: lock_path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .map_err(lock_err)?;
        file.lock().map_err(lock_err)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.key");
        write_atomic(&path, b"one", KEY_MODE).unwrap();
        write_atomic(&path, b"two", KEY_MODE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(dir.path().join("sub"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left behind");
    }

    #[test]
    fn certificates_are_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.crt");
        write_atomic(&path, b"cert", CERT_MODE).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn loose_key_modes_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.key");
        fs::write(&path, b"k").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        tighten_key_mode(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn missing_files_read_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_optional(&dir.path().join("absent")).unwrap().is_none());
    }
}
