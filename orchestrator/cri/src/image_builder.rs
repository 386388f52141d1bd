//! Builds container images as docker-archive tars, without Docker or a registry.
//!
//! Nothing can be pulled from a public registry here, so the pause image and every test image are
//! assembled from host files: one uncompressed layer, a config and a `manifest.json`, which
//! `ctr images import` (and `docker load`) accept. Output is byte-for-byte reproducible.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::shell_line;
use crate::{Error, Result};

/// The timestamp written into layers and configs, so equal inputs give equal image ids.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// How a container from the image runs by default (the OCI image config's `config` object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// The executable and its fixed arguments.
    pub entrypoint: Vec<String>,
    /// Default arguments appended to the entrypoint.
    pub cmd: Vec<String>,
    /// `KEY=value` environment entries.
    pub env: Vec<String>,
    /// Working directory; empty means `/`.
    pub working_dir: String,
    /// Signal sent to stop the container, e.g. `SIGINT`; empty means SIGTERM.
    pub stop_signal: String,
}

#[derive(Debug, Clone)]
enum Entry {
    Dir { mode: u32 },
    File { source: Source, mode: u32 },
    Symlink { target: String },
}

#[derive(Debug, Clone)]
enum Source {
    Host(PathBuf),
    Bytes(Vec<u8>),
}

/// A one-layer image assembled from host files, directories and in-memory contents.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    name: String,
    entries: BTreeMap<PathBuf, Entry>,
    config: ImageConfig,
}

impl ImageBuilder {
    /// Starts an empty image called `name` (`repo[:tag]`, tag `latest` when absent).
    pub fn new(name: &str) -> Result<Self> {
        Ok(ImageBuilder {
            name: normalize_name(name)?,
            entries: BTreeMap::new(),
            config: ImageConfig::default(),
        })
    }

    /// The image's name with its tag, as written into the archive.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a directory at `dest` (absolute path in the image).
    pub fn dir(&mut self, dest: &str, mode: u32) -> &mut Self {
        self.insert(dest, Entry::Dir { mode });
        self
    }

    /// Adds a file with `contents` at `dest`.
    pub fn file(&mut self, dest: &str, contents: impl Into<Vec<u8>>, mode: u32) -> &mut Self {
        self.insert(
            dest,
            Entry::File {
                source: Source::Bytes(contents.into()),
                mode,
            },
        );
        self
    }

    /// Adds the host file `host` at `dest`; it is read when the archive is written.
    pub fn copy(&mut self, host: impl Into<PathBuf>, dest: &str, mode: u32) -> &mut Self {
        self.insert(
            dest,
            Entry::File {
                source: Source::Host(host.into()),
                mode,
            },
        );
        self
    }

    /// Adds a symbolic link at `dest` pointing to `target`.
    pub fn symlink(&mut self, dest: &str, target: &str) -> &mut Self {
        self.insert(
            dest,
            Entry::Symlink {
                target: target.to_owned(),
            },
        );
        self
    }

    /// Adds everything under the host directory `root` at the image's `/`, keeping modes and links.
    pub fn rootfs(&mut self, root: &Path) -> Result<&mut Self> {
        self.add_tree(root, Path::new("/"))?;
        Ok(self)
    }

    /// Adds the host executable `host` at `dest` and, if it is dynamically linked, its loader and
    /// shared libraries at their host paths (found with `ldd`), so it runs in an empty image.
    pub fn binary_with_libraries(&mut self, host: &Path, dest: &str) -> Result<&mut Self> {
        self.copy(host, dest, 0o755);
        for library in shared_libraries(host)? {
            let dest = library.display().to_string();
            self.copy(library, &dest, 0o755);
        }
        Ok(self)
    }

    /// Sets how containers from this image run by default.
    pub fn config(&mut self, config: ImageConfig) -> &mut Self {
        self.config = config;
        self
    }

    fn insert(&mut self, dest: &str, entry: Entry) {
        let path = image_path(dest);
        let mut parent = path.parent();
        while let Some(dir) = parent.filter(|p| !p.as_os_str().is_empty()) {
            self.entries
                .entry(dir.to_owned())
                .or_insert(Entry::Dir { mode: 0o755 });
            parent = dir.parent();
        }
        self.entries.insert(path, entry);
    }

    fn add_tree(&mut self, host: &Path, dest: &Path) -> Result<()> {
        let read = |source| Error::Read {
            path: host.to_owned(),
            source,
        };
        let mut children: Vec<_> = std::fs::read_dir(host)
            .map_err(read)?
            .collect::<io::Result<_>>()
            .map_err(read)?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let host_path = child.path();
            let dest_path = dest.join(child.file_name());
            let dest_str = dest_path.display().to_string();
            let meta = std::fs::symlink_metadata(&host_path).map_err(|source| Error::Read {
                path: host_path.clone(),
                source,
            })?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&host_path).map_err(|source| Error::Read {
                    path: host_path.clone(),
                    source,
                })?;
                self.symlink(&dest_str, &target.display().to_string());
            } else if meta.is_dir() {
                self.dir(&dest_str, mode);
                self.add_tree(&host_path, &dest_path)?;
            } else if meta.is_file() {
                self.copy(host_path, &dest_str, mode);
            }
            // Sockets, fifos and devices have no place in an image layer; they are skipped.
        }
        Ok(())
    }

    /// The uncompressed layer tar.
    fn layer(&self) -> Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            let written = match entry {
                Entry::Dir { mode } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_size(0);
                    tar.append_data(&mut header, path, io::empty())
                }
                Entry::Symlink { target } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target)
                }
                Entry::File { source, mode } => {
                    let contents = match source {
                        Source::Bytes(bytes) => bytes.clone(),
                        Source::Host(host) => {
                            std::fs::read(host).map_err(|source| Error::Read {
                                path: host.clone(),
                                source,
                            })?
                        }
                    };
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(contents.len() as u64);
                    tar.append_data(&mut header, path, contents.as_slice())
                }
            };
            written.map_err(|source| Error::Write {
                path: Path::new("/").join(path),
                source,
            })?;
        }
        tar.into_inner().map_err(|source| Error::Write {
            path: PathBuf::from("<layer>"),
            source,
        })
    }

    /// Writes the image as a docker-archive tar at `archive`; returns its id (`sha256:` + config digest).
    pub fn write_docker_archive(&self, archive: &Path) -> Result<String> {
        let layer = self.layer()?;
        let layer_hex = hex::encode(Sha256::digest(&layer));
        let config = serde_json::to_vec(&self.config_json(&layer_hex)).unwrap_or_default();
        let config_hex = hex::encode(Sha256::digest(&config));
        let manifest = serde_json::to_vec(&json!([{
            "Config": format!("blobs/sha256/{config_hex}"),
            "RepoTags": [self.name],
            "Layers": [format!("blobs/sha256/{layer_hex}")],
        }]))
        .unwrap_or_default();

        let write = |source| Error::Write {
            path: archive.to_owned(),
            source,
        };
        let file = std::fs::File::create(archive).map_err(write)?;
        let mut tar = tar::Builder::new(io::BufWriter::new(file));
        for dir in ["blobs", "blobs/sha256"] {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_mtime(0);
            header.set_size(0);
            tar.append_data(&mut header, dir, io::empty())
                .map_err(write)?;
        }
        for (path, bytes) in [
            (format!("blobs/sha256/{layer_hex}"), layer.as_slice()),
            (format!("blobs/sha256/{config_hex}"), config.as_slice()),
            ("manifest.json".to_owned(), manifest.as_slice()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, path, bytes).map_err(write)?;
        }
        tar.into_inner()
            .and_then(|mut w| io::Write::flush(&mut w))
            .map_err(write)?;
        Ok(format!("sha256:{config_hex}"))
    }

    fn config_json(&self, layer_hex: &str) -> serde_json::Value {
        let c = &self.config;
        let mut run = serde_json::Map::new();
        if !c.env.is_empty() {
            run.insert("Env".into(), json!(c.env));
        }
        if !c.entrypoint.is_empty() {
            run.insert("Entrypoint".into(), json!(c.entrypoint));
        }
        if !c.cmd.is_empty() {
            run.insert("Cmd".into(), json!(c.cmd));
        }
        if !c.working_dir.is_empty() {
            run.insert("WorkingDir".into(), json!(c.working_dir));
        }
        if !c.stop_signal.is_empty() {
            run.insert("StopSignal".into(), json!(c.stop_signal));
        }
        json!({
            "architecture": oci_architecture(),
            "os": "linux",
            "created": EPOCH,
            "config": run,
            "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_hex}")] },
            "history": [{ "created": EPOCH, "created_by": "clusterd-cri ImageBuilder" }],
        })
    }
}

/// The image path `dest` without its leading `/` and without `.` or `..` parts.
fn image_path(dest: &str) -> PathBuf {
    Path::new(dest)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect()
}

fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn normalize_name(name: &str) -> Result<String> {
    let invalid = |reason| Error::InvalidImageName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.contains('@') {
        return Err(invalid("a digest cannot be chosen, it is computed"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
    {
        return Err(invalid("use lowercase letters and no spaces"));
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.is_empty() || last.starts_with(':') || last.ends_with(':') {
        return Err(invalid("the repository or tag is empty"));
    }
    if last.contains(':') {
        Ok(name.to_owned())
    } else {
        Ok(format!("{name}:latest"))
    }
}

/// The loader and shared libraries a dynamically linked executable needs, as `ldd` reports them.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let args = vec![binary.display().to_string()];
    let output = std::process::Command::new("ldd")
        .args(&args)
        .output()
        .map_err(|e| Error::Command {
            command: shell_line("ldd", &args),
            output: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stdout.contains("statically linked") || stderr.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        return Err(Error::Command {
            command: shell_line("ldd", &args),
            output: format!("{stderr}{stdout}"),
        });
    }
    Ok(parse_ldd(&stdout))
}

fn parse_ldd(stdout: &str) -> Vec<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, resolved)) => resolved.trim(),
                None => line.trim(),
            };
            let path = path.split(" (").next().unwrap_or("").trim();
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_tag_get_latest_and_bad_names_are_refused() {
        assert_eq!(normalize_name("busybox").unwrap(), "busybox:latest");
        assert_eq!(
            normalize_name("localhost:5000/pause").unwrap(),
            "localhost:5000/pause:latest"
        );
        assert_eq!(
            normalize_name("clusterd.local/pause:3.10").unwrap(),
            "clusterd.local/pause:3.10"
        );
        for bad in ["", "Busybox", "busybox:", "a b", "busybox@sha256:00"] {
            assert!(normalize_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn ldd_output_yields_the_loader_and_libraries_but_not_the_vdso() {
        let stdout = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                      \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f1)\n\
                      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)\n\
                      \t/lib64/ld-linux-x86-64.so.2 (0x00007f3)\n";
        assert_eq!(
            parse_ldd(stdout),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn parent_directories_are_added_for_nested_files() {
        let mut image = ImageBuilder::new("t").unwrap();
        image.file("/etc/app/conf.d/a.conf", "x", 0o644);
        let paths: Vec<_> = image
            .entries
            .keys()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            paths,
            ["etc", "etc/app", "etc/app/conf.d", "etc/app/conf.d/a.conf"]
        );
    }
}
