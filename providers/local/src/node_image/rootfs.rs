//! The Debian root filesystem of the node image: made once with `debootstrap --variant=minbase`,
//! then kept as a tarball under `~/.cache/clusterctl/node-rootfs/<key>.tar` so rebuilds skip it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::recipe::{Recipe, SUITE};
use super::Progress;
use crate::{Error, Result};

/// Directories dropped from the rootfs: documentation, translations and apt's download caches.
const TRIM: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt/archives",
    "var/lib/apt/lists",
];

/// The on-disk cache of root filesystem tarballs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsCache {
    dir: PathBuf,
}

impl RootfsCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/clusterctl/node-rootfs`, else `~/.cache/clusterctl/node-rootfs`.
    pub fn default_location() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        Self::new(base.join("clusterctl").join("node-rootfs"))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cache key of `recipe` from `mirror` on this machine's architecture.
    pub fn key(recipe: &Recipe, mirror: &str) -> String {
        format!("{}-{}", std::env::consts::ARCH, recipe.rootfs_hash(mirror))
    }

    /// Whether the rootfs for `recipe` from `mirror` is cached (so a build needs no debootstrap).
    pub fn contains(&self, recipe: &Recipe, mirror: &str) -> bool {
        self.tarball(&Self::key(recipe, mirror)).is_file()
    }

    /// Where the tarball for `key` lives (whether or not it exists yet).
    pub fn tarball(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.tar"))
    }

    /// The tarball for `recipe` from `mirror`, running debootstrap first when it is not cached.
    /// Returns its path and whether it came from the cache. Concurrent callers wait for one build.
    pub async fn ensure(
        &self,
        recipe: &Recipe,
        mirror: &str,
        progress: &Progress<'_>,
    ) -> Result<(PathBuf, bool)> {
        let key = Self::key(recipe, mirror);
        let tarball = self.tarball(&key);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(Error::io("create cache directory", &self.dir))?;
        let lock_path = self.dir.join(format!("{key}.lock"));
        let lock = tokio::task::spawn_blocking(move || -> Result<std::fs::File> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(Error::io("open cache lock", &lock_path))?;
            file.lock()
                .map_err(Error::io("lock rootfs cache", &lock_path))?;
            Ok(file)
        })
        .await
        .map_err(|e| Error::Invalid(format!("rootfs cache lock task failed: {e}")))??;

        if tarball.is_file() {
            progress(format!(
                "using cached root filesystem {}",
                tarball.display()
            ));
            drop(lock);
            return Ok((tarball, true));
        }
        let work = self.dir.join(format!("{key}.work"));
        let result = self.build(recipe, mirror, &work, &tarball, progress).await;
        remove_work_dir(&work).await;
        drop(lock);
        result.map(|()| (tarball, false))
    }

    async fn build(
        &self,
        recipe: &Recipe,
        mirror: &str,
        work: &Path,
        tarball: &Path,
        progress: &Progress<'_>,
    ) -> Result<()> {
        remove_work_dir(work).await;
        let rootfs = work.join("rootfs");
        tokio::fs::create_dir_all(&rootfs)
            .await
            .map_err(Error::io("create rootfs directory", &rootfs))?;
        progress(format!(
            "debootstrap {SUITE} from {mirror} (first build only)"
        ));
        let include = format!("--include={}", recipe.packages.join(","));
        let rootfs_arg = rootfs.display().to_string();
        run_logged(
            "debootstrap",
            &["--variant=minbase", &include, SUITE, &rootfs_arg, mirror],
            progress,
        )
        .await?;
        for dir in TRIM {
            let path = rootfs.join(dir);
            if path.is_dir() {
                tokio::fs::remove_dir_all(&path)
                    .await
                    .map_err(Error::io("trim rootfs", &path))?;
                tokio::fs::create_dir_all(&path)
                    .await
                    .map_err(Error::io("trim rootfs", &path))?;
            }
        }
        progress("packing root filesystem".to_owned());
        let partial = tarball.with_extension("tar.partial");
        let partial_arg = partial.display().to_string();
        run_logged(
            "tar",
            &[
                "--numeric-owner",
                "-C",
                &rootfs_arg,
                "-cf",
                &partial_arg,
                ".",
            ],
            progress,
        )
        .await?;
        tokio::fs::rename(&partial, tarball)
            .await
            .map_err(Error::io("store rootfs in cache", tarball))?;
        Ok(())
    }
}

/// Runs a command, forwarding its `I: …` lines as progress and keeping the tail for errors.
async fn run_logged(program: &str, args: &[&str], progress: &Progress<'_>) -> Result<()> {
    let command_line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let failed = |detail: String| Error::Rootfs {
        command: command_line.clone(),
        detail,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            failed(format!(
                "cannot start {program}: {e} (install it: apt-get install {program})"
            ))
        })?;
    let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_lines(BufReader::new(stdout), sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_lines(BufReader::new(stderr), sender.clone()));
    }
    drop(sender);
    let mut tail: VecDeque<String> = VecDeque::new();
    while let Some(line) = lines.recv().await {
        if let Some(info) = line.strip_prefix("I: ") {
            progress(info.to_owned());
        }
        tail.push_back(line);
        if tail.len() > 20 {
            tail.pop_front();
        }
    }
    let status = child.wait().await.map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        let tail: Vec<String> = tail.into_iter().collect();
        return Err(failed(format!("{status}\n{}", tail.join("\n"))));
    }
    Ok(())
}

/// Sends every line of `reader` to `sender` until end of file.
async fn forward_lines<R: tokio::io::AsyncBufRead + Unpin>(
    reader: R,
    sender: tokio::sync::mpsc::UnboundedSender<String>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if sender.send(line).is_err() {
            break;
        }
    }
}

/// Removes a leftover work directory, first unmounting anything an interrupted debootstrap left
/// mounted below it (it mounts /proc and /sys into the target), so nothing outside is touched.
async fn remove_work_dir(work: &Path) {
    if !work.exists() {
        return;
    }
    let prefix = work.display().to_string();
    if let Ok(mounts) = tokio::fs::read_to_string("/proc/self/mounts").await {
        let mut below: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .filter(|point| point.starts_with(&prefix))
            .collect();
        below.sort_by_key(|point| std::cmp::Reverse(point.len()));
        for point in below {
            let _ = Command::new("umount").args(["-l", point]).status().await;
        }
    }
    if let Err(error) = tokio::fs::remove_dir_all(work).await {
        tracing::warn!(path = %work.display(), %error, "could not remove rootfs work directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cache_is_a_clusterctl_directory_in_the_users_cache() {
        let cache = RootfsCache::default_location();
        assert!(
            cache.dir().ends_with("clusterctl/node-rootfs"),
            "{}",
            cache.dir().display()
        );
    }

    #[tokio::test]
    async fn a_failing_command_reports_the_command_line_and_its_output() {
        let error = run_logged(
            "sh",
            &["-c", "echo 'I: step one'; echo boom >&2; exit 3"],
            &|_| {},
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("sh -c"), "{error}");
        assert!(error.contains("boom"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
    }

    #[tokio::test]
    async fn info_lines_become_progress_messages() {
        let seen = std::sync::Mutex::new(Vec::new());
        run_logged(
            "sh",
            &["-c", "echo 'I: Retrieving Packages'; echo 'other' >&2"],
            &|line| {
                seen.lock().unwrap().push(line);
            },
        )
        .await
        .unwrap();
        assert_eq!(
            seen.into_inner().unwrap(),
            vec!["Retrieving Packages".to_owned()]
        );
    }

    #[tokio::test]
    async fn a_cached_tarball_is_used_without_running_debootstrap() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RootfsCache::new(dir.path());
        let recipe = Recipe::bundled();
        let key = RootfsCache::key(&recipe, "http://m/debian");
        assert!(!cache.contains(&recipe, "http://m/debian"));
        std::fs::write(cache.tarball(&key), b"cached").unwrap();
        let (path, cached) = cache
            .ensure(&recipe, "http://m/debian", &|_| {})
            .await
            .unwrap();
        assert!(cached);
        assert_eq!(std::fs::read(path).unwrap(), b"cached");
    }
}
