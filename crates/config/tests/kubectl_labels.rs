//! Label values: our verdict must match the real kubectl's, which checks values client-side.

mod common;

use std::path::Path;
use std::process::Command;

const KUBECTL: &str = "/usr/bin/kubectl";

/// kubectl's verdict on `value` as a label value (`kubectl label --local`, no cluster needed).
fn kubectl_accepts(manifest: &Path, value: &str) -> bool {
    let output = Command::new(KUBECTL)
        .args(["label", "--local", "--dry-run=client", "-o", "name", "-f"])
        .arg(manifest)
        .arg(format!("probe={value}"))
        .output()
        .unwrap_or_else(|e| panic!("run {KUBECTL}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || stderr.contains("invalid label value"),
        "kubectl failed for another reason: {stderr}"
    );
    output.status.success()
}

fn we_accept(value: &str) -> bool {
    let body = format!("provider: eks\nnodeGroups:\n  - labels:\n      probe: {value:?}\n");
    common::parse(&body).unwrap().defaulted().validate().is_ok()
}

#[test]
fn label_values_agree_with_kubectl() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("SKIPPED: {KUBECTL} not found; label values are not cross-checked with kubectl");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n",
    )
    .unwrap();
    let long = "a".repeat(63);
    let too_long = "a".repeat(64);
    let values = [
        "",
        "worker",
        "My_Value.1",
        "12345",
        "a-b",
        "-a",
        "a-",
        "a b",
        "a/b",
        "_a",
        "a.",
        "ü",
        &long,
        &too_long,
    ];
    let disagreements: Vec<String> = values
        .iter()
        .filter(|v| kubectl_accepts(&manifest, v) != we_accept(v))
        .map(|v| {
            format!(
                "{v:?}: kubectl {} it",
                if we_accept(v) { "rejects" } else { "accepts" }
            )
        })
        .collect();
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
