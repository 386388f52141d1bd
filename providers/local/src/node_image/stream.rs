//! The tar stream `docker import` reads: the cached Debian rootfs with the recipe's files on top.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::recipe::OverlayFile;
use crate::docker::ImageStream;

/// Chunks of 1 MiB keep the channel cheap and the daemon busy.
const CHUNK: usize = 1 << 20;

/// Streams `rootfs` (a tar file) entry by entry, unchanged, followed by `overlay`, as one archive.
///
/// Entries are copied raw (long-name and PAX records included), so hard links, devices and
/// ownership survive exactly as `tar` recorded them. Work happens on a blocking thread.
pub fn rootfs_with_overlay(rootfs: PathBuf, overlay: Vec<OverlayFile>) -> ImageStream {
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let error_sender = sender.clone();
        let writer = ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        };
        if let Err(error) = write_archive(&rootfs, &overlay, writer) {
            let _ = error_sender.blocking_send(Err(error));
        }
    });
    Box::pin(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ))
}

fn write_archive(
    rootfs: &PathBuf,
    overlay: &[OverlayFile],
    writer: ChannelWriter,
) -> io::Result<()> {
    let file = std::fs::File::open(rootfs)
        .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", rootfs.display())))?;
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(CHUNK, file));
    let mut builder = tar::Builder::new(writer);
    let mut entries = archive.entries()?;
    entries = entries.raw(true);
    let replaced: Vec<&str> = overlay.iter().map(|file| normalize(file.path)).collect();
    for entry in entries {
        let entry = entry?;
        // Docker refuses archives that hold a path twice; the overlay's version wins.
        let path = entry.path_bytes();
        let path = String::from_utf8_lossy(&path);
        if replaced.contains(&normalize(&path)) {
            continue;
        }
        let header = entry.header().clone();
        builder.append(&header, entry)?;
    }
    append_overlay(&mut builder, overlay)?;
    let mut writer = builder.into_inner()?;
    writer.flush()
}

/// A tar path without its leading `./` or `/`.
fn normalize(path: &str) -> &str {
    path.trim_start_matches("./").trim_start_matches('/')
}

/// Appends the overlay files (and their parent directories) to `builder`.
pub(crate) fn append_overlay<W: Write>(
    builder: &mut tar::Builder<W>,
    overlay: &[OverlayFile],
) -> io::Result<()> {
    for file in overlay {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(file.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, file.path, file.contents.as_bytes())?;
    }
    Ok(())
}

/// A `Write` that hands 1 MiB chunks to an async receiver.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "docker stopped reading the image",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send_buffer();
    }
}

/// Reads a whole stream into memory (tests and small archives only).
pub async fn collect(mut stream: ImageStream) -> io::Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

/// The paths in a tar archive, in order.
pub fn list_paths(archive: &[u8]) -> io::Result<Vec<String>> {
    let mut archive = tar::Archive::new(archive);
    let mut paths = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        paths.push(entry.path()?.to_string_lossy().into_owned());
        io::copy(&mut entry.by_ref().take(u64::MAX), &mut io::sink())?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs_tar(dir: &std::path::Path) -> PathBuf {
        let path = dir.join("rootfs.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        let mut header = tar::Header::new_gnu();
        let data = b"#!/bin/sh\n";
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        // Longer than the 100 bytes a plain header holds, so a GNU long-name record is written.
        let long = format!("usr/lib/{}/tool", "x".repeat(120));
        builder.append_data(&mut header, &long, &data[..]).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder.append_link(&mut link, "bin/sh", "busybox").unwrap();
        let mut config = tar::Header::new_gnu();
        config.set_size(4);
        config.set_mode(0o644);
        builder
            .append_data(&mut config, "./etc/containerd/config.toml", &b"old\n"[..])
            .unwrap();
        builder.finish().unwrap();
        path
    }

    #[tokio::test]
    async fn overlay_files_follow_the_rootfs_entries_and_replace_same_paths() {
        let dir = tempfile::tempdir().unwrap();
        let overlay = vec![
            OverlayFile {
                path: "usr/local/bin/clusterctl-entrypoint",
                mode: 0o755,
                contents: "#!/bin/sh\nexec clusterd\n",
            },
            OverlayFile {
                path: "etc/containerd/config.toml",
                mode: 0o644,
                contents: "version = 2\n",
            },
        ];
        let bytes = collect(rootfs_with_overlay(rootfs_tar(dir.path()), overlay))
            .await
            .unwrap();
        let paths = list_paths(&bytes).unwrap();
        assert_eq!(
            paths.len(),
            4,
            "the replaced config appears once: {paths:?}"
        );
        assert!(
            paths[0].ends_with("/tool") && paths[0].len() > 120,
            "{paths:?}"
        );
        assert_eq!(paths[1], "bin/sh");
        assert_eq!(paths[2], "usr/local/bin/clusterctl-entrypoint");
        assert_eq!(paths[3], "etc/containerd/config.toml");

        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut entry = archive.entries().unwrap().nth(2).unwrap().unwrap();
        assert_eq!(entry.header().mode().unwrap(), 0o755);
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        assert_eq!(text, "#!/bin/sh\nexec clusterd\n");
    }

    #[tokio::test]
    async fn a_missing_rootfs_surfaces_as_a_stream_error_naming_the_file() {
        let stream = rootfs_with_overlay(PathBuf::from("/nonexistent/rootfs.tar"), Vec::new());
        let error = collect(stream).await.unwrap_err().to_string();
        assert!(error.contains("/nonexistent/rootfs.tar"), "{error}");
    }
}
