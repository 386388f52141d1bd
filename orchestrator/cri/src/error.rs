//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong in the runtime layer, naming the operation and its input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CRI socket could not be dialled.
    #[error("connect to cri socket {socket}: {source}")]
    Connect {
        /// The unix socket that was dialled.
        socket: PathBuf,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },

    /// A CRI call was answered with an error.
    #[error("cri {operation} {target}: {code:?}: {message}")]
    Cri {
        /// The CRI method, e.g. `RunPodSandbox`.
        operation: &'static str,
        /// What the call was about (a sandbox, container or image id or name).
        target: String,
        /// The gRPC status code.
        code: tonic::Code,
        /// The runtime's message.
        message: String,
    },

    /// A CRI answer lacked a field that the protocol promises.
    #[error("cri {operation} {target}: answer has no {field}")]
    MissingField {
        /// The CRI method.
        operation: &'static str,
        /// What the call was about.
        target: String,
        /// The missing field.
        field: &'static str,
    },

    /// An external command failed; Display is a shell-pasteable command and its output.
    #[error("command failed: {command}\n{output}")]
    Command {
        /// The command line, quoted for a shell.
        command: String,
        /// Its stderr and stdout, or why it could not run.
        output: String,
    },

    /// An imported archive did not contain the image it was expected to hold.
    #[error("image archive {archive} did not provide image {name}")]
    ImageNotInArchive {
        /// The archive that was imported.
        archive: PathBuf,
        /// The image name that is still unknown to the runtime.
        name: String,
    },

    /// An image reference is not usable as `name[:tag]`.
    #[error("invalid image name {name:?}: {reason}")]
    InvalidImageName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A pod CIDR could not be used for a node's pod network.
    #[error("invalid pod cidr {cidr:?}: {reason}")]
    InvalidCidr {
        /// The rejected CIDR.
        cidr: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A file or directory could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The path being read.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// A file or directory could not be written.
    #[error("write {path}: {source}")]
    Write {
        /// The path being written.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// containerd exited before its CRI service answered.
    #[error("containerd --config {config} exited with {status} before answering on {socket}; log {log}:\n{log_tail}")]
    ContainerdExited {
        /// The config file it was started with.
        config: PathBuf,
        /// The socket it should have served.
        socket: PathBuf,
        /// How it exited.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// containerd did not answer CRI calls in time.
    #[error("containerd did not answer on {socket} within {waited:?}; log {log}:\n{log_tail}")]
    ContainerdNotReady {
        /// The socket that was polled.
        socket: PathBuf,
        /// How long the wait lasted.
        waited: Duration,
        /// containerd's log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// Something listens on the socket but does not answer CRI calls.
    #[error("{socket} accepts connections but answered no cri call within {waited:?}; is containerd's cri plugin disabled?")]
    NoCriOnSocket {
        /// The socket.
        socket: PathBuf,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// The runtime cannot do this operation (e.g. the fake runtime cannot run host processes).
    #[error("{operation} is not supported by this runtime: {reason}")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// Why it is not available.
        reason: &'static str,
    },

    /// A CRI log line did not have the `<time> <stream> <P|F> <message>` shape.
    #[error("malformed cri log line {line:?}: {reason}")]
    MalformedLogLine {
        /// The line, possibly shortened.
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a gRPC status from the CRI method `operation` about `target`.
    pub fn cri(operation: &'static str, target: impl Into<String>, status: &tonic::Status) -> Self {
        Error::Cri {
            operation,
            target: target.into(),
            code: status.code(),
            message: status.message().to_owned(),
        }
    }

    /// True when the runtime said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::Cri {
                code: tonic::Code::NotFound,
                ..
            }
        )
    }
}

/// Quotes a command line so that it can be pasted into a shell.
pub(crate) fn shell_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_line_quotes_only_words_that_need_it() {
        let line = shell_line(
            "ctr",
            &[
                "-n".into(),
                "k8s.io".into(),
                "it's here".into(),
                String::new(),
            ],
        );
        assert_eq!(line, r"ctr -n k8s.io 'it'\''s here' ''");
    }

    #[test]
    fn not_found_is_recognised_from_the_grpc_code() {
        let missing = Error::cri(
            "ContainerStatus",
            "abc",
            &tonic::Status::not_found("no such container"),
        );
        let other = Error::cri("ContainerStatus", "abc", &tonic::Status::internal("boom"));
        assert!(missing.is_not_found());
        assert!(!other.is_not_found());
        assert_eq!(
            missing.to_string(),
            "cri ContainerStatus abc: NotFound: no such container"
        );
    }
}
