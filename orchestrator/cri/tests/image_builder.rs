//! Image archives built without Docker: what is inside them and that they are reproducible.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use clusterd_cri::{ImageBuilder, ImageConfig};
use sha2::{Digest, Sha256};

/// The archive's members by path.
fn members(archive: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut out = BTreeMap::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(path, bytes);
    }
    out
}

fn sample(root: &std::path::Path) -> ImageBuilder {
    std::fs::create_dir_all(root.join("etc/app")).unwrap();
    std::fs::write(root.join("etc/app/app.conf"), "port = 80\n").unwrap();
    std::fs::write(root.join("run.sh"), "#!/bin/sh\necho run\n").unwrap();
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("run.sh", root.join("start")).unwrap();
    let mut image = ImageBuilder::new("example.test/app").unwrap();
    image.rootfs(root).unwrap();
    image.file("/etc/motd", "hi\n", 0o644);
    image.config(ImageConfig {
        entrypoint: vec!["/run.sh".into()],
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    });
    image
}

#[test]
fn archive_holds_a_manifest_config_and_layer_with_the_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample(&dir.path().join("rootfs"));
    let archive = dir.path().join("app.tar");
    let id = image.write_docker_archive(&archive).unwrap();
    let files = members(&archive);

    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest[0]["RepoTags"][0], "example.test/app:latest");
    let config_path = manifest[0]["Config"].as_str().unwrap();
    let config_bytes = &files[config_path];
    assert_eq!(
        id,
        format!("sha256:{}", hex::encode(Sha256::digest(config_bytes)))
    );
    let config: serde_json::Value = serde_json::from_slice(config_bytes).unwrap();
    assert_eq!(config["config"]["Entrypoint"][0], "/run.sh");
    assert_eq!(config["os"], "linux");

    let layer_path = manifest[0]["Layers"][0].as_str().unwrap();
    let layer = &files[layer_path];
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        format!("sha256:{}", hex::encode(Sha256::digest(layer)))
    );
    let mut entries = BTreeMap::new();
    for entry in tar::Archive::new(layer.as_slice()).entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let path = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let link = header.link_name().unwrap().map(|l| l.display().to_string());
        entries.insert(path, (header.mode().unwrap(), text, link));
    }
    assert_eq!(entries["etc/app/app.conf"].1, "port = 80\n");
    assert_eq!(entries["etc/motd"].1, "hi\n");
    assert_eq!(entries["run.sh"].0, 0o750, "file modes are kept");
    assert_eq!(
        entries["start"].2.as_deref(),
        Some("run.sh"),
        "symlinks stay symlinks"
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample(&dir.path().join("rootfs"));
    let first = image
        .write_docker_archive(&dir.path().join("a.tar"))
        .unwrap();
    let second = image
        .write_docker_archive(&dir.path().join("b.tar"))
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::read(dir.path().join("a.tar")).unwrap(),
        std::fs::read(dir.path().join("b.tar")).unwrap()
    );
}

#[test]
fn a_dynamic_binary_brings_its_loader_and_libraries() {
    let pause = std::path::Path::new(env!("CARGO_BIN_EXE_clusterd-pause"));
    let dir = tempfile::tempdir().unwrap();
    let mut image = ImageBuilder::new("pause").unwrap();
    image.binary_with_libraries(pause, "/pause").unwrap();
    let archive = dir.path().join("pause.tar");
    image.write_docker_archive(&archive).unwrap();
    let files = members(&archive);
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let layer = &files[manifest[0]["Layers"][0].as_str().unwrap()];
    let paths: Vec<String> = tar::Archive::new(layer.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(paths.contains(&"pause".to_owned()));
    let ldd = std::process::Command::new("ldd")
        .arg(pause)
        .output()
        .unwrap();
    let dynamic = ldd.status.success();
    let has_libc = paths.iter().any(|p| p.contains("libc.so"));
    assert_eq!(
        has_libc, dynamic,
        "libc is included exactly when the binary is dynamic: {paths:?}"
    );
}

#[test]
fn a_missing_host_file_is_named_when_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = ImageBuilder::new("broken").unwrap();
    image.copy("/nonexistent/busybox", "/bin/busybox", 0o755);
    let error = image
        .write_docker_archive(&dir.path().join("x.tar"))
        .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/busybox"),
        "{error}"
    );
}
