//! Embeds the clusterd binary named by `CLUSTERCTL_EMBED_CLUSTERD` (see docs/development.md).
//!
//! Without that variable the bundle is empty and clusterctl looks for clusterd at run time instead.

use sha2::{Digest, Sha256};
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=CLUSTERCTL_EMBED_CLUSTERD");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = out.join("clusterd.bin");
    let (bytes, embedded) = match env::var_os("CLUSTERCTL_EMBED_CLUSTERD") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            match fs::read(&path) {
                Ok(bytes) => (bytes, true),
                Err(e) => panic!(
                    "CLUSTERCTL_EMBED_CLUSTERD={}: cannot read the clusterd binary to embed: {e}",
                    path.display()
                ),
            }
        }
        _ => (Vec::new(), false),
    };
    let sha = hex::encode(Sha256::digest(&bytes));
    fs::write(&target, &bytes).expect("write embedded clusterd into OUT_DIR");
    fs::write(
        out.join("embedded.rs"),
        format!(
            "/// Whether this build carries clusterd.\npub const EMBEDDED: bool = {embedded};\n\
             /// sha256 of the carried bytes, computed at build time.\npub const EMBEDDED_SHA256: &str = \"{sha}\";\n"
        ),
    )
    .expect("write embedded.rs into OUT_DIR");
}
