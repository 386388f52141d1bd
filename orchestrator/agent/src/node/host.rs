//! Facts about the host the Node reports: capacity, OS, kernel, machine and boot ids.

use std::path::Path;

/// The host's resources and identity, read from /proc, /etc and statvfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// Online CPUs.
    pub cpus: u64,
    /// Physical memory in bytes (`MemTotal`).
    pub memory_bytes: u64,
    /// Size in bytes of the filesystem holding the data dir.
    pub ephemeral_storage_bytes: u64,
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of /etc/os-release.
    pub os_image: String,
    /// /etc/machine-id.
    pub machine_id: String,
    /// /proc/sys/kernel/random/boot_id.
    pub boot_id: String,
    /// The host name, lowercased.
    pub hostname: String,
}

/// Memory and PID pressure signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pressure {
    /// `MemAvailable` below 100 MiB (kubelet's default hard eviction threshold).
    pub memory: bool,
    /// Less than 10 % of the data dir's filesystem free.
    pub disk: bool,
    /// More than 90 % of `pid_max` in use.
    pub pid: bool,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A `/proc/meminfo` field in bytes.
fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text, field)
}

fn parse_meminfo(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// `PRETTY_NAME` of an os-release file.
fn parse_os_release(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

fn filesystem(path: &Path) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some((stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize))
}

impl HostInfo {
    /// Reads the host's facts; `data_dir` (created if missing) gives the ephemeral storage.
    pub fn probe(data_dir: &Path) -> HostInfo {
        let _ = std::fs::create_dir_all(data_dir);
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get() as u64)
            .unwrap_or(1);
        HostInfo {
            cpus,
            memory_bytes: meminfo("MemTotal").unwrap_or_default(),
            ephemeral_storage_bytes: filesystem(data_dir).map(|f| f.0).unwrap_or_default(),
            kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
            os_image: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|t| parse_os_release(&t))
                .unwrap_or_else(|| "Linux".into()),
            machine_id: read_trimmed("/etc/machine-id"),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            hostname: read_trimmed("/proc/sys/kernel/hostname").to_lowercase(),
        }
    }

    /// The CPU architecture in Kubernetes' spelling (`amd64`, `arm64`).
    pub fn architecture() -> &'static str {
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        }
    }
}

impl Pressure {
    /// The host's current pressure signals, the disk measured at `data_dir`.
    pub fn probe(data_dir: &Path) -> Pressure {
        let memory = meminfo("MemAvailable").is_some_and(|available| available < 100 << 20);
        let disk = filesystem(data_dir).is_some_and(|(total, free)| total > 0 && free * 10 < total);
        let pid_max: u64 = read_trimmed("/proc/sys/kernel/pid_max")
            .parse()
            .unwrap_or(u64::MAX);
        let running = std::fs::read_dir("/proc")
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .bytes()
                            .all(|b| b.is_ascii_digit())
                    })
                    .count() as u64
            })
            .unwrap_or_default();
        Pressure {
            memory,
            disk,
            pid: running * 10 > pid_max * 9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_os_release_fields_parse() {
        let text = "MemTotal:        8048576 kB\nMemFree:  100 kB\n";
        assert_eq!(parse_meminfo(text, "MemTotal"), Some(8048576 * 1024));
        assert_eq!(parse_meminfo(text, "MemAvailable"), None);
        let release = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            parse_os_release(release).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn probe_reads_this_host() {
        let dir = tempfile::tempdir().unwrap();
        let host = HostInfo::probe(dir.path());
        assert!(host.cpus >= 1);
        assert!(host.memory_bytes > 64 << 20, "{host:?}");
        assert!(host.ephemeral_storage_bytes > 0, "{host:?}");
        assert!(!host.kernel_version.is_empty());
        assert_eq!(host.boot_id.len(), 36, "{host:?}");
    }
}
