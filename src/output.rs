//! Printing data (table, JSON, YAML) to stdout and errors to stderr.

use crate::cli::OutputFormat;
use serde::Serialize;
use std::io::Write;

/// Something `get` can print as a table as well as JSON/YAML.
pub trait Tabular: Serialize {
    /// Column headers, upper case like kubectl.
    fn headers() -> &'static [&'static str];
    /// The cells of this row, in header order.
    fn row(&self) -> Vec<String>;
}

/// Prints `items` in `format` to stdout. An empty table prints a kubectl-like notice on stderr.
pub fn print_list<T: Tabular>(
    items: &[T],
    format: OutputFormat,
    empty_notice: &str,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(items)?)?,
        OutputFormat::Yaml => write!(out, "{}", serde_yaml::to_string(items)?)?,
        OutputFormat::Table => {
            if items.is_empty() {
                eprintln!("{empty_notice}");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = items.iter().map(Tabular::row).collect();
            write!(out, "{}", table(T::headers(), &rows))?;
        }
    }
    Ok(())
}

/// Aligned columns separated by three spaces, like kubectl's printer.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 3;
                text.push_str(&" ".repeat(pad));
            }
        }
        text.push('\n');
    };
    push_row(headers.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    text
}

impl Tabular for clusterctl_provider_api::ClusterSummary {
    fn headers() -> &'static [&'static str] {
        &["NAME", "PROVIDER", "REGION", "VERSION", "STATUS"]
    }
    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.provider.clone(),
            self.region.clone().unwrap_or_default(),
            self.version.clone(),
            self.status.clone(),
        ]
    }
}

impl Tabular for clusterctl_provider_api::NodeGroupSummary {
    fn headers() -> &'static [&'static str] {
        &[
            "CLUSTER",
            "NODEGROUP",
            "STATUS",
            "DESIRED",
            "MIN",
            "MAX",
            "INSTANCE TYPE",
        ]
    }
    fn row(&self) -> Vec<String> {
        vec![
            self.cluster.clone(),
            self.name.clone(),
            self.status.clone(),
            self.desired.to_string(),
            self.min.to_string(),
            self.max.to_string(),
            self.instance_type.clone().unwrap_or_default(),
        ]
    }
}

impl Tabular for clusterctl_provider_api::NodeSummary {
    fn headers() -> &'static [&'static str] {
        &["NAME", "ROLE", "STATUS", "ADDRESS"]
    }
    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.role.clone(),
            self.status.clone(),
            self.address.clone().unwrap_or_default(),
        ]
    }
}

/// The error and its causes, each cause on its own line when it is multi-line (validation lists).
pub fn render_error(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if cause.contains('\n') {
            text.push_str(":\n");
            text.push_str(&cause);
        } else {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_like_kubectl() {
        let rows = vec![
            vec!["dev".to_string(), "local".to_string()],
            vec!["production".into(), "eks".into()],
        ];
        assert_eq!(
            table(&["NAME", "PROVIDER"], &rows),
            "NAME         PROVIDER\ndev          local\nproduction   eks\n"
        );
    }

    #[test]
    fn errors_show_every_cause_once() {
        let err = anyhow::anyhow!("disk full").context("write kubeconfig /root/.kube/config");
        assert_eq!(
            render_error(&err),
            "write kubeconfig /root/.kube/config: disk full"
        );
    }
}
