//! The `<path>.lock` file that kubectl (client-go `lockFile`) and clusterctl both honour.
//!
//! client-go creates `<kubeconfig>.lock` with `O_CREATE|O_EXCL` around every read-modify-write
//! and removes it afterwards; it fails at once when the lock exists. clusterctl does the same but
//! retries for a bounded time, so two clusterctl runs queue up instead of failing.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::persist::create_parent_dir;

/// How long to wait for a held lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

const FIRST_RETRY: Duration = Duration::from_millis(5);
const MAX_RETRY: Duration = Duration::from_millis(100);

/// A held `<path>.lock`; dropping it removes the lock file.
#[derive(Debug)]
pub(crate) struct LockGuard {
    lock: PathBuf,
}

/// The lock file guarding `path`: `path` with `.lock` appended, as client-go names it.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of `path`, waiting up to `timeout` for another holder to let go.
pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<LockGuard> {
    let lock = lock_path(path);
    let started = Instant::now();
    let mut pause = FIRST_RETRY;
    let mut created_dir = false;
    loop {
        let attempt = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&lock);
        match attempt {
            Ok(_) => return Ok(LockGuard { lock }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(Error::LockTimeout { lock, waited });
                }
                std::thread::sleep(pause.min(timeout - waited));
                pause = (pause * 2).min(MAX_RETRY);
            }
            Err(e) if e.kind() == ErrorKind::NotFound && !created_dir => {
                create_parent_dir(path).map_err(|source| Error::Lock {
                    lock: lock.clone(),
                    source,
                })?;
                created_dir = true;
            }
            Err(source) => return Err(Error::Lock { lock, source }),
        }
    }
}

/// Takes the locks of all `paths` in sorted order, like client-go's `ModifyConfig`, so that
/// processes locking overlapping sets cannot deadlock.
pub(crate) fn acquire_all(paths: &[PathBuf], timeout: Duration) -> Result<Vec<LockGuard>> {
    let mut sorted: Vec<&PathBuf> = paths.iter().collect();
    sorted.sort();
    sorted.dedup();
    sorted.into_iter().map(|p| acquire(p, timeout)).collect()
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.lock) {
            if e.kind() != ErrorKind::NotFound {
                tracing::warn!(lock = %self.lock.display(), error = %e, "failed to remove kubeconfig lock");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_is_path_plus_dot_lock_and_goes_away_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let guard = acquire(&config, Duration::from_secs(1)).unwrap();
        assert!(dir.path().join("config.lock").exists());
        drop(guard);
        assert!(!dir.path().join("config.lock").exists());
    }

    #[test]
    fn held_lock_times_out_naming_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let _held = acquire(&config, Duration::from_secs(1)).unwrap();
        let started = Instant::now();
        let err = acquire(&config, Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        let message = err.to_string();
        assert!(
            message.contains(&lock_path(&config).display().to_string()),
            "{message}"
        );
        assert!(message.contains("rm "), "{message}");
    }

    #[test]
    fn waiter_gets_the_lock_once_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let held = acquire(&config, Duration::from_secs(1)).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        let second = acquire(&config, Duration::from_secs(5));
        releaser.join().unwrap();
        assert!(second.is_ok());
    }

    #[test]
    fn missing_parent_directory_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("nested").join(".kube").join("config");
        let _guard = acquire(&config, Duration::from_secs(1)).unwrap();
        assert!(lock_path(&config).exists());
    }
}
