//! The node image recipe from `templates/node-image/`, compiled in, and its hashes.

use sha2::{Digest, Sha256};

/// The Debian suite the node root filesystem is made from.
pub const SUITE: &str = "bookworm";
/// The Debian mirror debootstrap uses unless the spec names another.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// Where the entrypoint lives inside the node.
pub const ENTRYPOINT_PATH: &str = "usr/local/bin/clusterctl-entrypoint";

const PACKAGES: &str = include_str!("../../../../templates/node-image/packages");
const ENTRYPOINT: &str = include_str!("../../../../templates/node-image/entrypoint");
const CONTAINERD_CONFIG: &str = include_str!("../../../../templates/node-image/containerd.toml");

/// One file the recipe adds on top of the Debian root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayFile {
    /// Path inside the image, relative to `/`.
    pub path: &'static str,
    /// File mode.
    pub mode: u32,
    /// Contents.
    pub contents: &'static str,
}

/// What goes into a node image: Debian packages, then a few files on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// Debian packages given to `debootstrap --include`.
    pub packages: Vec<String>,
    /// Files added on top, in order.
    pub overlay: Vec<OverlayFile>,
}

impl Recipe {
    /// The recipe in `templates/node-image/` as this clusterctl was built with it.
    pub fn bundled() -> Self {
        Self {
            packages: parse_packages(PACKAGES),
            overlay: vec![
                OverlayFile {
                    path: ENTRYPOINT_PATH,
                    mode: 0o755,
                    contents: ENTRYPOINT,
                },
                OverlayFile {
                    path: "etc/containerd/config.toml",
                    mode: 0o644,
                    contents: CONTAINERD_CONFIG,
                },
            ],
        }
    }

    /// Identifies the debootstrap inputs (suite, mirror, packages): the rootfs cache key.
    pub fn rootfs_hash(&self, mirror: &str) -> String {
        let mut hasher = Sha256::new();
        for part in [SUITE, "minbase", mirror] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        for package in &self.packages {
            hasher.update(package.as_bytes());
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }

    /// Identifies the whole recipe (rootfs inputs plus every overlay file and the image config);
    /// an image whose label differs is rebuilt.
    pub fn hash(&self, mirror: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.rootfs_hash(mirror).as_bytes());
        for file in &self.overlay {
            hasher.update(file.path.as_bytes());
            hasher.update(file.mode.to_be_bytes());
            hasher.update(file.contents.as_bytes());
        }
        for change in super::image_config() {
            hasher.update(change.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Package names, one a line; `#` comments and blank lines are ignored.
fn parse_packages(text: &str) -> Vec<String> {
    let mut packages: Vec<String> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_recipe_installs_what_a_node_needs() {
        let recipe = Recipe::bundled();
        for needed in [
            "containerd",
            "runc",
            "containernetworking-plugins",
            "iptables",
            "tini",
        ] {
            assert!(
                recipe.packages.iter().any(|p| p == needed),
                "missing {needed}"
            );
        }
        assert!(recipe.overlay[0]
            .contents
            .contains("exec /usr/local/bin/clusterd"));
    }

    #[test]
    fn package_list_ignores_comments_blank_lines_and_order() {
        let a = parse_packages("# header\nrunc\n\ncontainerd # the runtime\n");
        let b = parse_packages("containerd\nrunc\nrunc\n");
        assert_eq!(a, vec!["containerd", "runc"]);
        assert_eq!(a, b);
    }

    #[test]
    fn overlay_changes_change_the_recipe_hash_but_not_the_rootfs_cache_key() {
        let recipe = Recipe::bundled();
        let mut edited = recipe.clone();
        edited.overlay[1].contents = "version = 2\n";
        assert_eq!(
            recipe.rootfs_hash(DEFAULT_MIRROR),
            edited.rootfs_hash(DEFAULT_MIRROR)
        );
        assert_ne!(recipe.hash(DEFAULT_MIRROR), edited.hash(DEFAULT_MIRROR));
    }

    #[test]
    fn package_changes_change_the_rootfs_cache_key() {
        let recipe = Recipe::bundled();
        let mut edited = recipe.clone();
        edited.packages.push("socat".into());
        assert_ne!(
            recipe.rootfs_hash(DEFAULT_MIRROR),
            edited.rootfs_hash(DEFAULT_MIRROR)
        );
        assert_ne!(
            recipe.rootfs_hash(DEFAULT_MIRROR),
            recipe.rootfs_hash("http://mirror.example/debian")
        );
    }
}
