//! `clusterctl version`.

use super::OutputArgs;
use clap::Args;

/// Flags of `version`.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Output format.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Skip extracting and running the bundled clusterd.
    #[arg(long)]
    pub short: bool,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    clusterctl: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    kubernetes: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    clusterd: Option<ClusterdInfo>,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterdInfo {
    /// `embedded`, or the file it was read from.
    origin: String,
    embedded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// First line of `clusterd --version`, run from the extracted bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn clusterd_info() -> ClusterdInfo {
    use clusterctl_bundle::{Clusterd, Origin};
    let bundle = match Clusterd::locate() {
        Ok(b) => b,
        Err(e) => {
            return ClusterdInfo {
                origin: "none".into(),
                embedded: false,
                sha256: None,
                version: None,
                error: Some(e.to_string()),
            }
        }
    };
    let (origin, embedded) = match bundle.origin() {
        Origin::Embedded => ("embedded".to_string(), true),
        Origin::File(p) => (p.display().to_string(), false),
    };
    let run = tempfile::tempdir()
        .map_err(|e| e.to_string())
        .and_then(|dir| bundle.run_version(dir.path()).map_err(|e| e.to_string()));
    let (version, error) = match run {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    ClusterdInfo {
        origin,
        embedded,
        sha256: Some(bundle.sha256().to_string()),
        version,
        error,
    }
}

/// Prints versions; verifies and runs the bundled clusterd unless `--short`.
pub fn run(_global: &super::GlobalArgs, args: VersionArgs) -> anyhow::Result<()> {
    let info = VersionInfo {
        clusterctl: env!("CARGO_PKG_VERSION").to_string(),
        commit: crate::version::commit().map(str::to_string),
        kubernetes: crate::version::KUBERNETES_VERSION.to_string(),
        clusterd: (!args.short).then(clusterd_info),
    };
    match args.output.output {
        super::OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&info)?),
        super::OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&info)?),
        super::OutputFormat::Table => {
            println!(
                "clusterctl: {}{}",
                info.clusterctl,
                info.commit
                    .map(|c| format!(" (commit {c})"))
                    .unwrap_or_default()
            );
            println!("kubernetes: {}", info.kubernetes);
            if let Some(c) = info.clusterd {
                match (c.version, c.error) {
                    (Some(v), _) => println!(
                        "clusterd:   {v} [{}; sha256 {}]",
                        c.origin,
                        c.sha256.unwrap_or_default()
                    ),
                    (None, Some(e)) => println!("clusterd:   unavailable: {e}"),
                    (None, None) => println!("clusterd:   unavailable"),
                }
            }
        }
    }
    Ok(())
}
