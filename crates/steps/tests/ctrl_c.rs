//! `cancel_on_ctrl_c` against a real SIGINT sent to this test process with `kill`.
//! Kept in its own test binary so the signal reaches no other test.

use std::process::Command;
use std::time::Duration;

use clusterctl_steps::{cancel_on_ctrl_c, CancellationToken};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::test]
async fn ctrl_c_cancels_the_token() {
    if Command::new("kill").arg("-l").output().is_err() {
        eprintln!("skipping: no `kill` binary on this machine to send SIGINT");
        return;
    }
    // Installing our own SIGINT listener first means the signal can never kill the test process,
    // even if it arrives before the listener under test is registered.
    let _guard = signal(SignalKind::interrupt()).unwrap();
    let token = CancellationToken::new();
    let listener = cancel_on_ctrl_c(token.clone());

    let pid = std::process::id().to_string();
    let cancelled = tokio::time::timeout(Duration::from_secs(10), async {
        // Re-send until the listener under test has registered and seen one.
        while !token.is_cancelled() {
            let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
            assert!(status.success(), "kill -INT {pid} failed: {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    assert!(
        cancelled.is_ok(),
        "token not cancelled within 10s of SIGINT"
    );
    tokio::time::timeout(Duration::from_secs(5), listener)
        .await
        .expect("listener task did not end after cancelling")
        .unwrap();
}

#[tokio::test]
async fn the_listener_ends_when_the_token_is_cancelled_otherwise() {
    let token = CancellationToken::new();
    let listener = cancel_on_ctrl_c(token.clone());
    token.cancel();
    tokio::time::timeout(Duration::from_secs(5), listener)
        .await
        .expect("listener task still running after the token was cancelled")
        .unwrap();
}
