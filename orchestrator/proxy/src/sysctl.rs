//! Kernel settings the proxy depends on: forwarding, and iptables seeing bridged traffic (so a
//! pod reaching a Service backed by a pod on the same bridge gets its reply un-NATed).

use crate::exec::Runner;

/// A setting that could not be applied, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlProblem {
    /// The sysctl key.
    pub key: String,
    /// What went wrong.
    pub reason: String,
}

/// Sets `net.ipv4.ip_forward=1` and, where br_netfilter is loaded, `bridge-nf-call-iptables=1`;
/// returns the ones that could not be set (each also logged as a warning).
pub fn ensure(runner: &dyn Runner) -> Vec<SysctlProblem> {
    let mut wanted = vec!["net.ipv4.ip_forward"];
    // br_netfilter may not be loaded (and cannot be loaded from here); then there is no key.
    match runner.output(&["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"], None) {
        Ok(out) if out.success => wanted.push("net.bridge.bridge-nf-call-iptables"),
        _ => tracing::warn!(
            "net.bridge.bridge-nf-call-iptables is absent (br_netfilter not loaded): a pod may not reach a Service backed by a pod on its own node"
        ),
    }
    let mut problems = Vec::new();
    for key in wanted {
        let current = runner
            .run(&["sysctl", "-n", key], None)
            .map(|v| v.trim().to_owned());
        if matches!(current.as_deref(), Ok("1")) {
            continue;
        }
        let setting = format!("{key}=1");
        if let Err(error) = runner.run(&["sysctl", "-w", &setting], None) {
            tracing::warn!(key, %error, "could not set a sysctl the service proxy needs");
            problems.push(SysctlProblem {
                key: key.to_owned(),
                reason: error.to_string(),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Output, RecordingRunner};

    #[test]
    fn sets_what_is_off_and_reports_what_fails() {
        let runner = RecordingRunner::new()
            .answer_ok("sysctl -n net.ipv4.ip_forward", "0\n")
            .answer_ok("sysctl -n net.bridge.bridge-nf-call-iptables", "0\n")
            .answer(
                "sysctl -w net.bridge",
                Output {
                    success: false,
                    stdout: String::new(),
                    stderr: "permission denied".into(),
                },
            );
        let problems = ensure(&runner);
        assert!(runner
            .lines()
            .contains(&"sysctl -w net.ipv4.ip_forward=1".to_owned()));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "net.bridge.bridge-nf-call-iptables");
        assert!(problems[0].reason.contains("permission denied"));
    }
}
