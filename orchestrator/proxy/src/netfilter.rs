//! Loading a [`Ruleset`] into the kernel and removing everything the proxy ever wrote.

use std::collections::BTreeSet;

use crate::exec::Runner;
use crate::rules::{jumps, Ruleset, CHAIN_PREFIX};
use crate::Result;

/// The chains named `CLUSTERD-*` that `iptables-save` output declares.
pub fn our_chains(save: &str) -> BTreeSet<String> {
    save.lines()
        .filter_map(|line| line.strip_prefix(':'))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|chain| chain.starts_with(CHAIN_PREFIX))
        .map(str::to_owned)
        .collect()
}

fn save(runner: &dyn Runner, table: &str) -> Result<String> {
    runner.run(&["iptables-save", "-t", table], None)
}

/// Loads `rules` atomically: one `iptables-restore --noflush` for both tables that also deletes
/// our chains no longer used and inserts any missing jump from the built-in chains (so traffic
/// never sees half a ruleset, and a jump removed by someone else comes back on the next sync).
pub fn apply(runner: &dyn Runner, rules: &Ruleset) -> Result<()> {
    let nat = save(runner, "nat")?;
    let filter = save(runner, "filter")?;
    let stale = |saved: &str, wanted: &[String]| -> Vec<String> {
        our_chains(saved)
            .into_iter()
            .filter(|chain| !wanted.contains(chain))
            .collect()
    };
    let stale_nat = stale(&nat, &rules.nat_chains);
    let stale_filter = stale(&filter, &rules.filter_chains);
    let mut text = rules.restore_text(&stale_nat, &stale_filter);
    for (table, saved) in [("filter", &filter), ("nat", &nat)] {
        let inserts = missing_jumps(table, saved);
        if inserts.is_empty() {
            continue;
        }
        // Right after the table's chain declarations, before its rules.
        let header = format!("*{table}\n");
        let Some(at) = text.find(&header) else {
            continue;
        };
        let body = &text[at + header.len()..];
        let first_rule = body
            .lines()
            .take_while(|l| l.starts_with(':'))
            .map(|l| l.len() + 1)
            .sum::<usize>();
        let position = at + header.len() + first_rule;
        text.insert_str(position, &inserts.concat());
        for line in &inserts {
            tracing::debug!(table, rule = line.trim_end(), "inserting jump");
        }
    }
    runner.run(&["iptables-restore", "-w", "--noflush"], Some(&text))?;
    Ok(())
}

fn quote(arg: &str) -> String {
    if arg.contains(' ') {
        format!("\"{arg}\"")
    } else {
        arg.to_owned()
    }
}

/// `-I <chain> 1 ...` lines for the jumps of `table` that `saved` (its `iptables-save`) lacks,
/// ordered so that they end up in [`jumps`] order at the top of each chain.
pub fn missing_jumps(table: &str, saved: &str) -> Vec<String> {
    let mut out = Vec::new();
    for jump in jumps().iter().rev().filter(|j| j.table == table) {
        let rule = jump
            .rule
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        let present = saved
            .lines()
            .any(|line| line == format!("-A {} {rule}", jump.chain));
        if !present {
            out.push(format!("-I {} 1 {rule}\n", jump.chain));
        }
    }
    out
}

/// Removes every jump into a `CLUSTERD-*` chain and every such chain, in both tables, in one
/// `iptables-restore --noflush`. Rules of other chains stay as they are.
pub fn cleanup(runner: &dyn Runner) -> Result<()> {
    let mut text = String::new();
    for table in ["filter", "nat"] {
        let saved = save(runner, table)?;
        let chains = our_chains(&saved);
        // Jumps into our chains from chains that are not ours.
        let jumps: Vec<String> = saved
            .lines()
            .filter_map(|line| line.strip_prefix("-A "))
            .filter(|rule| {
                let chain = rule.split_whitespace().next().unwrap_or_default();
                !chain.starts_with(CHAIN_PREFIX) && rule.contains(&format!("-j {CHAIN_PREFIX}"))
            })
            .map(|rule| format!("-D {rule}"))
            .collect();
        if chains.is_empty() && jumps.is_empty() {
            continue;
        }
        text.push_str(&format!("*{table}\n"));
        for chain in &chains {
            text.push_str(&format!(":{chain} - [0:0]\n"));
        }
        for rule in &jumps {
            text.push_str(rule);
            text.push('\n');
        }
        for chain in &chains {
            text.push_str(&format!("-X {chain}\n"));
        }
        text.push_str("COMMIT\n");
    }
    if !text.is_empty() {
        runner.run(&["iptables-restore", "-w", "--noflush"], Some(&text))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::RecordingRunner;

    const NAT_SAVE: &str =
        "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
        :CLUSTERD-SERVICES - [0:0]\n:CLUSTERD-SVC-OLD - [0:0]\n\
        -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
        -A PREROUTING -m comment --comment \"clusterd service portals\" -j CLUSTERD-SERVICES\n\
        -A CLUSTERD-SERVICES -j CLUSTERD-SVC-OLD\nCOMMIT\n";

    #[test]
    fn apply_deletes_only_our_stale_chains_and_inserts_missing_jumps_in_one_restore() {
        let runner = RecordingRunner::new().answer_ok("iptables-save -t nat", NAT_SAVE);
        let rules = Ruleset {
            nat_chains: vec!["CLUSTERD-SERVICES".into()],
            nat_rules: vec!["-A CLUSTERD-SERVICES -j RETURN".into()],
            ..Ruleset::default()
        };
        apply(&runner, &rules).unwrap();
        let calls = runner.calls();
        assert_eq!(calls.len(), 3, "two saves and one restore: {calls:?}");
        let restore = calls[2].1.clone().unwrap();
        assert!(restore.contains(":CLUSTERD-SVC-OLD - [0:0]\n"), "{restore}");
        assert!(restore.contains("-X CLUSTERD-SVC-OLD\n"), "{restore}");
        assert!(!restore.contains("DOCKER"), "{restore}");
        assert!(!restore.contains("-X CLUSTERD-SERVICES"), "{restore}");
        // PREROUTING has its jump; OUTPUT and POSTROUTING get theirs, after the declarations.
        let nat = restore.split("*nat\n").nth(1).unwrap();
        assert_eq!(
            nat,
            ":CLUSTERD-SERVICES - [0:0]\n:CLUSTERD-SVC-OLD - [0:0]\n\
             -I POSTROUTING 1 -m comment --comment \"clusterd postrouting rules\" -j CLUSTERD-POSTROUTING\n\
             -I OUTPUT 1 -m comment --comment \"clusterd service portals\" -j CLUSTERD-SERVICES\n\
             -A CLUSTERD-SERVICES -j RETURN\n-X CLUSTERD-SVC-OLD\nCOMMIT\n"
        );
        // filter: all four chains' jumps, FORWARD's in reverse so they end up in order.
        let filter = restore.split("*nat\n").next().unwrap();
        let inserts: Vec<&str> = filter.lines().filter(|l| l.starts_with("-I ")).collect();
        assert_eq!(inserts.len(), 5, "{filter}");
        assert!(
            inserts[1].starts_with("-I FORWARD 1 ") && inserts[1].ends_with("-j CLUSTERD-FORWARD")
        );
        assert!(
            inserts[3].starts_with("-I FORWARD 1 ") && inserts[3].ends_with("-j CLUSTERD-SERVICES")
        );
    }

    #[test]
    fn cleanup_removes_our_jumps_and_chains_but_not_dockers() {
        let runner = RecordingRunner::new().answer_ok("iptables-save -t nat", NAT_SAVE);
        cleanup(&runner).unwrap();
        let calls = runner.calls();
        let restore = calls
            .iter()
            .find(|(line, _)| line.starts_with("iptables-restore"))
            .and_then(|(_, stdin)| stdin.clone())
            .unwrap();
        assert_eq!(
            restore,
            "*nat\n:CLUSTERD-SERVICES - [0:0]\n:CLUSTERD-SVC-OLD - [0:0]\n\
             -D PREROUTING -m comment --comment \"clusterd service portals\" -j CLUSTERD-SERVICES\n\
             -X CLUSTERD-SERVICES\n-X CLUSTERD-SVC-OLD\nCOMMIT\n"
        );
    }
}
