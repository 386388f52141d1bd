//! Rebuild when the commit recorded by scripts/build changes (`clusterctl version` prints it).
fn main() {
    println!("cargo:rerun-if-env-changed=CLUSTERCTL_GIT_COMMIT");
}
