//! `/exec/{ns}/{pod}/{container}?command=..`: kubectl's WebSocket exec session, driving the
//! runtime's exec command ([`Runtime::exec_command`]): pipes without a terminal, a pty with one.

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use clusterd_cri::Runtime;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::body::Body;
use super::status;
use super::websocket::{self, CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};

/// What kubectl asked to run and which streams it wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// The argv (one `command=` parameter each).
    pub command: Vec<String>,
    /// Forward the client's stdin.
    pub stdin: bool,
    /// Send stdout.
    pub stdout: bool,
    /// Send stderr (never with a terminal, which merges it into stdout).
    pub stderr: bool,
    /// Run under a terminal.
    pub tty: bool,
}

impl ExecOptions {
    /// Parses the query string.
    pub fn parse(query: &str) -> Self {
        let mut options = ExecOptions::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let on = value == "true" || value == "1";
            match key.as_ref() {
                "command" => options.command.push(value.into_owned()),
                "stdin" => options.stdin = on,
                "stdout" => options.stdout = on,
                "stderr" => options.stderr = on,
                "tty" => options.tty = on,
                _ => {}
            }
        }
        if options.tty {
            options.stderr = false;
        }
        options
    }
}

/// How long a terminal session waits for kubectl's first size before starting the command.
const FIRST_RESIZE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

static EXEC_COUNTER: AtomicU64 = AtomicU64::new(0);

fn exec_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "clusterd-exec-{nanos:x}-{}",
        EXEC_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Answers the upgrade and runs the session in the background.
pub fn exec<R: Runtime>(
    runtime: &R,
    container_id: &str,
    query: &str,
    mut request: Request<Incoming>,
) -> Response<Body> {
    let options = ExecOptions::parse(query);
    if options.command.is_empty() {
        return status::bad_request("you must specify at least one command for the container");
    }
    let handshake = match websocket::negotiate(request.headers()) {
        Ok(handshake) => handshake,
        Err(message) => return status::bad_request(&message),
    };
    let exec_id = exec_id();
    let command = match runtime.exec_command(container_id, &exec_id, &options.command, options.tty)
    {
        Ok(command) => command,
        Err(e) => return status::not_implemented(&e.to_string()),
    };
    let kill = runtime.exec_kill_command(container_id, &exec_id).ok();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let container_id = container_id.to_owned();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                tracing::debug!(container = %container_id, command = ?options.command, "exec session");
                session(ws, command, kill, options).await;
            }
            Err(e) => tracing::info!(container = %container_id, error = %e, "exec upgrade failed"),
        }
    });
    websocket::switching_protocols(&handshake)
}

/// What the client sent, decoded from its channel byte.
enum Input {
    Stdin(Vec<u8>),
    CloseStdin,
    Resize(u16, u16),
    Gone,
}

fn decode(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<Input> {
    match message {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Some(Input::Gone),
        Some(Ok(Message::Binary(data))) => match data.first() {
            Some(&STDIN) => Some(Input::Stdin(data[1..].to_vec())),
            Some(&CLOSE) if data.get(1) == Some(&STDIN) => Some(Input::CloseStdin),
            Some(&RESIZE) => {
                let size: serde_json::Value = serde_json::from_slice(&data[1..]).ok()?;
                let dim = |k: &str| size[k].as_u64().unwrap_or(0).min(u16::MAX as u64) as u16;
                Some(Input::Resize(dim("Width"), dim("Height")))
            }
            _ => None,
        },
        Some(Ok(_)) => None,
    }
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

async fn pump(mut reader: impl AsyncRead + Unpin, channel: u8, tx: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 || tx.send(frame(channel, &buf[..n])).await.is_err() {
            break;
        }
    }
}

/// Runs `command` for the client on `ws` until it exits, then sends its Status and closes.
async fn session<S>(
    ws: WebSocketStream<S>,
    command: std::process::Command,
    kill: Option<std::process::Command>,
    options: ExecOptions,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(32);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
        let _ = sink.close().await;
    });
    let result = if options.tty {
        run_tty(command, &options, &mut stream, tx.clone()).await
    } else {
        run_pipes(command, &options, &mut stream, tx.clone()).await
    };
    let status = match result {
        Ok(Some(code)) => websocket::exit_status(code, &options.command),
        Ok(None) => {
            // The client left. If the process outlived the SIGTERM (or `ctr` was killed before it
            // passed the signal on), kill it in the container so nothing is left running.
            if let Some(kill) = kill {
                let _ = tokio::process::Command::from(kill)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .await;
            }
            drop(tx);
            let _ = writer.await;
            return;
        }
        Err(message) => websocket::failure_status(&message),
    };
    let _ = tx.send(frame(ERROR, status.to_string().as_bytes())).await;
    drop(tx);
    // Keep answering pings while the last frames go out.
    let drain = async { while let Some(Ok(_)) = stream.next().await {} };
    tokio::select! {
        _ = writer => {}
        _ = drain => {}
    }
}

type WsStream<S> = futures_util::stream::SplitStream<WebSocketStream<S>>;

/// Without a terminal: stdin, stdout and stderr are pipes. `Ok(None)` when the client left.
async fn run_pipes<S>(
    command: std::process::Command,
    options: &ExecOptions,
    stream: &mut WsStream<S>,
    tx: mpsc::Sender<Message>,
) -> Result<Option<i32>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut command = tokio::process::Command::from(command);
    let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
    command
        .stdin(pipe(options.stdin))
        .stdout(pipe(options.stdout))
        .stderr(pipe(options.stderr))
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("start exec of {:?}: {e}", options.command))?;
    let pid = child.id();
    let mut stdin = child.stdin.take();
    let out = child
        .stdout
        .take()
        .map(|r| tokio::spawn(pump(r, STDOUT, tx.clone())));
    let err = child
        .stderr
        .take()
        .map(|r| tokio::spawn(pump(r, STDERR, tx.clone())));
    drop(tx);
    let finished = async {
        for task in [out, err].into_iter().flatten() {
            let _ = task.await;
        }
        child.wait().await
    };
    tokio::pin!(finished);
    loop {
        tokio::select! {
            status = &mut finished => {
                let status = status.map_err(|e| format!("wait for exec of {:?}: {e}", options.command))?;
                return Ok(Some(exit_code(status)));
            }
            message = stream.next() => match decode(message) {
                Some(Input::Stdin(data)) => {
                    if let Some(pipe) = &mut stdin {
                        if pipe.write_all(&data).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                Some(Input::CloseStdin) => stdin = None,
                Some(Input::Resize(..)) | None => {}
                Some(Input::Gone) => {
                    stop(pid, &mut finished).await;
                    return Ok(None);
                }
            },
        }
    }
}

/// With a terminal: the command's stdio is the slave side of a new pty; resizes are applied to it
/// and signalled with SIGWINCH. `Ok(None)` when the client left.
async fn run_tty<S>(
    mut command: std::process::Command,
    options: &ExecOptions,
    stream: &mut WsStream<S>,
    tx: mpsc::Sender<Message>,
) -> Result<Option<i32>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (master, slave) = open_pty().map_err(|e| format!("allocate a terminal for exec: {e}"))?;
    // kubectl sends the terminal size first: apply it before the command reads it at start.
    let mut early_stdin: Vec<Vec<u8>> = Vec::new();
    let mut stdin_closed = false;
    // kubectl repeats sizes; an unchanged one is not passed on (ctr then complains after exit).
    let mut last_size = None;
    let first_size = tokio::time::sleep(FIRST_RESIZE_WAIT);
    tokio::pin!(first_size);
    loop {
        tokio::select! {
            _ = &mut first_size => break,
            message = stream.next() => match decode(message) {
                Some(Input::Resize(width, height)) => {
                    resize(&master, width, height, None);
                    last_size = Some((width, height));
                    break;
                }
                Some(Input::Stdin(data)) => early_stdin.push(data),
                Some(Input::CloseStdin) => stdin_closed = true,
                Some(Input::Gone) => return Ok(None),
                None => {}
            },
        }
    }
    let slave_copy = |f: &std::fs::File| {
        f.try_clone()
            .map_err(|e| format!("allocate a terminal for exec: {e}"))
    };
    command
        .stdin(Stdio::from(slave_copy(&slave)?))
        .stdout(Stdio::from(slave_copy(&slave)?))
        .stderr(Stdio::from(slave));
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("start exec of {:?}: {e}", options.command))?;
    // Our copies of the slave must go, so that reading the master ends when the command exits.
    drop(command);
    let pid = child.id();
    let mut reader = master
        .try_clone()
        .map_err(|e| format!("read the exec terminal: {e}"))?;
    let output = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.blocking_send(frame(STDOUT, &buf[..n])).is_err() {
                break;
            }
        }
    });
    let (stdin_tx, mut stdin_rx) = mpsc::channel::<Vec<u8>>(16);
    let mut writer = master
        .try_clone()
        .map_err(|e| format!("write the exec terminal: {e}"))?;
    tokio::task::spawn_blocking(move || {
        while let Some(data) = stdin_rx.blocking_recv() {
            if writer.write_all(&data).is_err() {
                break;
            }
        }
    });
    for data in early_stdin {
        let _ = stdin_tx.send(data).await;
    }
    if stdin_closed {
        let _ = stdin_tx.send(vec![4]).await;
    }
    let mut stdin_tx = (options.stdin && !stdin_closed).then_some(stdin_tx);
    let finished = async {
        let _ = output.await;
        child.wait().await
    };
    tokio::pin!(finished);
    loop {
        tokio::select! {
            status = &mut finished => {
                let status = status.map_err(|e| format!("wait for exec of {:?}: {e}", options.command))?;
                return Ok(Some(exit_code(status)));
            }
            message = stream.next() => match decode(message) {
                Some(Input::Stdin(data)) => {
                    if let Some(sender) = &stdin_tx {
                        if sender.send(data).await.is_err() {
                            stdin_tx = None;
                        }
                    }
                }
                Some(Input::CloseStdin) => {
                    // A terminal has no half-close: send EOF (Ctrl-D) as a terminal user would.
                    if let Some(sender) = stdin_tx.take() {
                        let _ = sender.send(vec![4]).await;
                    }
                }
                Some(Input::Resize(width, height)) if last_size != Some((width, height)) => {
                    resize(&master, width, height, pid);
                    last_size = Some((width, height));
                }
                Some(Input::Resize(..)) => {}
                None => {}
                Some(Input::Gone) => {
                    stop(pid, &mut finished).await;
                    return Ok(None);
                }
            },
        }
    }
}

/// The client left: asks the command to stop (`ctr` passes SIGTERM on to the process), waits a
/// little, and leaves the rest to `kill_on_drop`.
async fn stop<F: std::future::Future + Unpin>(pid: Option<u32>, finished: &mut F) {
    if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), finished).await;
}

/// Sets the terminal's size and tells the process holding it (`SIGWINCH`).
fn resize(master: &std::fs::File, width: u16, height: u16, pid: Option<u32>) {
    let size = rustix::termios::Winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let _ = rustix::termios::tcsetwinsize(master, size);
    if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::WINCH);
    }
}

fn open_pty() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use std::os::unix::fs::OpenOptionsExt;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(std::ffi::OsStr::new(&*String::from_utf8_lossy(
            name.as_bytes(),
        )))?;
    Ok((std::fs::File::from(master), slave))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_merges_stderr_and_each_command_word_is_kept() {
        let options = ExecOptions::parse(
            "command=sh&command=-c&command=echo+a%20b&stdin=true&stdout=true&stderr=true&tty=true",
        );
        assert_eq!(options.command, ["sh", "-c", "echo a b"]);
        assert!(options.stdin && options.stdout && options.tty);
        assert!(!options.stderr);
    }
}
