//! The pause binary the sandbox image runs: it waits, and exits cleanly on SIGTERM and SIGINT.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

fn exits_cleanly_on(signal: Signal) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterd-pause"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "pause must keep running until signalled"
    );
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let sent = Instant::now();
    kill_process(pid, signal).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "pause ignored {signal:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "pause exited with {status} on {signal:?}");
}

#[test]
fn pause_exits_zero_on_sigterm() {
    exits_cleanly_on(Signal::TERM);
}

#[test]
fn pause_exits_zero_on_sigint() {
    exits_cleanly_on(Signal::INT);
}
