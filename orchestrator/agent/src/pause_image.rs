//! The sandbox (pause) image of a containerd the agent started itself, built on the node from a
//! local executable: nothing is pulled.

use std::path::Path;

use clusterd_cri::{ImageBuilder, ImageConfig, Runtime};

use crate::{Error, Result};

/// Makes sure the runtime has the pause image `name`; when missing, builds it from the host
/// executable `binary` (copied to `/<command>` with its libraries, run with `args`) and imports
/// it. Returns true when it had to build it.
pub async fn ensure_pause_image<R: Runtime>(
    runtime: &R,
    name: &str,
    binary: &Path,
    command: &str,
    args: &[&str],
    work_dir: &Path,
) -> Result<bool> {
    if runtime.image_status(name).await.ok().flatten().is_some() {
        return Ok(false);
    }
    let invalid = |reason: String| Error::invalid(format!("pause image {name}"), reason);
    let mut image = ImageBuilder::new(name).map_err(|e| invalid(e.to_string()))?;
    let dest = format!("/{command}");
    image
        .binary_with_libraries(binary, &dest)
        .map_err(|e| invalid(e.to_string()))?;
    image.config(ImageConfig {
        entrypoint: std::iter::once(dest.clone())
            .chain(args.iter().map(|a| a.to_string()))
            .collect(),
        ..Default::default()
    });
    std::fs::create_dir_all(work_dir)
        .map_err(|e| Error::io("create image directory", work_dir, e))?;
    let archive = work_dir.join("pause-image.tar");
    image
        .write_docker_archive(&archive)
        .map_err(|e| invalid(e.to_string()))?;
    let imported = runtime.import_image(&archive, name).await;
    let _ = std::fs::remove_file(&archive);
    imported.map_err(|e| Error::runtime("import the pause image", name, e))?;
    tracing::info!(image = %name, from = %binary.display(), "built the pause image locally");
    Ok(true)
}
