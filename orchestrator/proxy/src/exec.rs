//! The one seam to the host: running `iptables*`, `ip` and `sysctl`, optionally inside a network
//! namespace through a command prefix (`ip netns exec <ns>`).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::{Error, Result};

/// What a finished command printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs commands on the node.
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// Runs `args` (program first) with `stdin`, whatever its exit status; an error only if it
    /// could not run at all.
    fn output(&self, args: &[&str], stdin: Option<&str>) -> Result<Output>;

    /// The command line `args` become, for error messages.
    fn describe(&self, args: &[&str]) -> String {
        shell_line(args)
    }

    /// Runs `args` and requires success; returns stdout.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let output = self.output(args, stdin)?;
        if output.success {
            Ok(output.stdout)
        } else {
            Err(Error::Command {
                command: self.describe(args),
                output: output.stderr.trim().to_owned(),
            })
        }
    }
}

/// Joins `args` into a line a shell would accept.
pub fn shell_line(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
            {
                (*a).to_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs real processes, each behind `prefix` (empty in production).
#[derive(Debug, Clone, Default)]
pub struct CommandRunner {
    prefix: Vec<String>,
}

impl CommandRunner {
    /// A runner putting `prefix` (e.g. `["ip", "netns", "exec", "node1"]`) before every command.
    pub fn new(prefix: Vec<String>) -> Self {
        Self { prefix }
    }
}

impl Runner for CommandRunner {
    fn describe(&self, args: &[&str]) -> String {
        let full: Vec<&str> = self
            .prefix
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        shell_line(&full)
    }

    fn output(&self, args: &[&str], stdin: Option<&str>) -> Result<Output> {
        let full: Vec<&str> = self
            .prefix
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        let failed = |error: std::io::Error| Error::Command {
            command: shell_line(&full),
            output: error.to_string(),
        };
        let Some((program, rest)) = full.split_first() else {
            return Err(Error::Command {
                command: String::new(),
                output: "empty command".into(),
            });
        };
        let mut child = Command::new(program)
            .args(rest)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(failed)?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).map_err(failed)?;
        }
        let output = child.wait_with_output().map_err(failed)?;
        tracing::trace!(command = %shell_line(&full), status = %output.status, "ran");
        Ok(Output {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// A fake [`Runner`] for unit tests: records every command and answers from a script of
/// `(command prefix, output)` pairs (the first matching one), success with empty output otherwise.
#[derive(Debug, Default)]
pub struct RecordingRunner {
    answers: Vec<(String, Output)>,
    calls: Mutex<Vec<(String, Option<String>)>>,
}

impl RecordingRunner {
    /// A runner that answers every command with success and no output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers commands whose shell line starts with `prefix` with `output`.
    pub fn answer(mut self, prefix: &str, output: Output) -> Self {
        self.answers.push((prefix.to_owned(), output));
        self
    }

    /// Answers commands whose shell line starts with `prefix` with success and `stdout`.
    pub fn answer_ok(self, prefix: &str, stdout: &str) -> Self {
        self.answer(
            prefix,
            Output {
                success: true,
                stdout: stdout.to_owned(),
                stderr: String::new(),
            },
        )
    }

    /// The commands run so far (shell lines) with their stdin.
    pub fn calls(&self) -> Vec<(String, Option<String>)> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The shell lines run so far.
    pub fn lines(&self) -> Vec<String> {
        self.calls().into_iter().map(|(line, _)| line).collect()
    }
}

impl Runner for RecordingRunner {
    fn output(&self, args: &[&str], stdin: Option<&str>) -> Result<Output> {
        let line = shell_line(args);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((line.clone(), stdin.map(str::to_owned)));
        }
        Ok(self
            .answers
            .iter()
            .find(|(prefix, _)| line.starts_with(prefix.as_str()))
            .map(|(_, output)| output.clone())
            .unwrap_or(Output {
                success: true,
                ..Output::default()
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_what_a_shell_would_split() {
        assert_eq!(
            shell_line(&["iptables", "-t", "nat", "--comment", "a b", "it's"]),
            r"iptables -t nat --comment 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn a_failing_command_names_itself_and_its_stderr() {
        let runner = CommandRunner::new(vec!["sh".into(), "-c".into()]);
        let error = runner
            .run(&["echo nope >&2; exit 3"], None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("sh -c") && error.contains("nope"), "{error}");
        assert_eq!(
            runner.run(&["cat"], Some("piped")).unwrap_or_default(),
            "piped"
        );
    }
}
