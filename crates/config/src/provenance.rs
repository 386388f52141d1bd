//! Where each value of a config came from: a line of a file, a command-line flag, or a default.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::yaml::{path, Position};

/// Where a value came from, as shown in front of a validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a config file.
    File {
        /// The file name the config was read from.
        source_name: String,
        /// 1-based line of the field (or of the closest enclosing field written in the file).
        line: usize,
    },
    /// A command-line flag.
    Flags,
    /// Filled in by defaulting: neither the file nor a flag set it.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { source_name, line } => write!(f, "{source_name}:{line}"),
            Origin::Flags => f.write_str("(from flags)"),
            Origin::Default => f.write_str("(default)"),
        }
    }
}

/// Field positions in the source file and the fields flags set.
///
/// Not part of a config's value: two configs with the same fields are equal wherever they came
/// from (as saphyr's marked nodes ignore their spans in comparisons).
#[derive(Debug, Clone, Default)]
pub(crate) struct Provenance {
    source_name: Option<String>,
    positions: HashMap<String, Position>,
    from_flags: BTreeSet<String>,
}

impl PartialEq for Provenance {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Provenance {}

impl Provenance {
    pub(crate) fn from_file(source_name: &str, positions: HashMap<String, Position>) -> Self {
        Provenance {
            source_name: Some(source_name.to_owned()),
            positions,
            from_flags: BTreeSet::new(),
        }
    }

    pub(crate) fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    pub(crate) fn in_file(&self, path: &str) -> bool {
        self.positions.contains_key(path)
    }

    /// Records that a flag set the value at `path` (and everything under it).
    pub(crate) fn mark_flag(&mut self, path: impl Into<String>) {
        self.from_flags.insert(path.into());
    }

    /// Where the value at `path` came from: flags win over the file, and a value the file did not
    /// spell out is placed at the closest enclosing field it did.
    pub(crate) fn origin_of(&self, path: &str) -> Origin {
        if ancestry(path).any(|p| self.from_flags.contains(p)) {
            return Origin::Flags;
        }
        let written = ancestry(path).find_map(|p| self.positions.get(p));
        match (written, &self.source_name) {
            (Some(position), Some(source_name)) => Origin::File {
                source_name: source_name.clone(),
                line: position.line,
            },
            _ => Origin::Default,
        }
    }
}

/// `path` and each enclosing path, innermost first, without the document root.
fn ancestry(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(path), |p| path::parent(p)).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize) -> Position {
        Position { line, column: 1 }
    }

    #[test]
    fn unwritten_field_is_placed_at_its_closest_written_parent() {
        let positions = HashMap::from([
            ("nodeGroups".into(), at(5)),
            ("nodeGroups[1]".into(), at(9)),
        ]);
        let provenance = Provenance::from_file("c.yaml", positions);
        assert_eq!(
            provenance.origin_of("nodeGroups[1].minSize").to_string(),
            "c.yaml:9"
        );
        assert_eq!(provenance.origin_of("kubernetesVersion"), Origin::Default);
    }

    #[test]
    fn flags_win_over_the_file_for_the_whole_subtree() {
        let positions = HashMap::from([("ssh.hosts[0].address".into(), at(12))]);
        let mut provenance = Provenance::from_file("c.yaml", positions);
        provenance.mark_flag("ssh.hosts");
        assert_eq!(provenance.origin_of("ssh.hosts[0].address"), Origin::Flags);
    }
}
