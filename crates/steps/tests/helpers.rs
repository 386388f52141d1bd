//! `for_each_host` and `wait_for` as steps use them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clusterctl_steps::{
    for_each_host, wait_for, CancellationToken, Ctx, Error, RecordingReporter, Reporter,
};

fn ctx(reporter: &Arc<RecordingReporter>) -> Ctx {
    Ctx::new(Arc::clone(reporter) as Arc<dyn Reporter>)
}

fn hosts(count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("node-{n}")).collect()
}

#[tokio::test(start_paused = true)]
async fn for_each_host_never_exceeds_the_bound_and_uses_it() {
    let ctx = ctx(&Arc::new(RecordingReporter::new()));
    let running = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let outputs = for_each_host(&ctx, hosts(10), 3, |host| {
        let (running, peak) = (&running, &peak);
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(format!("{host} ready"))
        }
    })
    .await
    .unwrap();

    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(outputs.len(), 10);
    assert_eq!(outputs[0], "node-1 ready");
    assert_eq!(outputs[9], "node-10 ready");
}

#[tokio::test(start_paused = true)]
async fn for_each_host_returns_outputs_in_host_order_whatever_finishes_first() {
    let ctx = ctx(&Arc::new(RecordingReporter::new()));
    let outputs = for_each_host(&ctx, [3u64, 1, 2], 3, |secs| async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok::<_, std::io::Error>(secs)
    })
    .await
    .unwrap();
    assert_eq!(outputs, [3, 1, 2]);
}

#[tokio::test]
async fn for_each_host_tries_every_host_and_reports_every_error() {
    let reporter = Arc::new(RecordingReporter::new());
    let ctx = ctx(&reporter);
    let attempted = Mutex::new(Vec::new());
    let error = for_each_host(&ctx, hosts(5), 2, |host| {
        let attempted = &attempted;
        async move {
            attempted.lock().unwrap().push(host.clone());
            match host.as_str() {
                "node-2" => Err(std::io::Error::other("connection refused")),
                "node-5" => Err(std::io::Error::other("permission denied (publickey)")),
                _ => Ok(()),
            }
        }
    })
    .await
    .unwrap_err();

    assert_eq!(attempted.lock().unwrap().len(), 5);
    assert_eq!(
        error.to_string(),
        "2 of 5 hosts failed:\n  node-2: connection refused\n  node-5: permission denied (publickey)"
    );
    let Error::Hosts(failures) = error else {
        panic!("expected host errors, got {error}");
    };
    let failed: Vec<&str> = failures.errors.iter().map(|e| e.host.as_str()).collect();
    assert_eq!(failed, ["node-2", "node-5"]);
    assert_eq!(reporter.progress_messages().len(), 5);
}

#[tokio::test]
async fn for_each_host_under_dry_run_plans_hosts_in_order() {
    let ctx = ctx(&Arc::new(RecordingReporter::new())).with_dry_run(true);
    let mutated = AtomicUsize::new(0);
    for_each_host(&ctx, hosts(4), 4, |host| {
        let (ctx, mutated) = (&ctx, &mutated);
        async move {
            ctx.wet(&host, "upload /usr/local/bin/clusterd", async {
                mutated.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(())
            })
            .await?;
            Ok::<_, std::io::Error>(())
        }
    })
    .await
    .unwrap();

    assert_eq!(mutated.load(Ordering::SeqCst), 0);
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    assert_eq!(
        plan,
        [
            "would upload /usr/local/bin/clusterd on node-1",
            "would upload /usr/local/bin/clusterd on node-2",
            "would upload /usr/local/bin/clusterd on node-3",
            "would upload /usr/local/bin/clusterd on node-4",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn for_each_host_stops_when_cancelled() {
    let token = CancellationToken::new();
    let ctx = ctx(&Arc::new(RecordingReporter::new())).with_cancellation(token.clone());
    let canceller = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        token.cancel();
    };
    let work = for_each_host(&ctx, hosts(3), 3, |_host| async {
        std::future::pending::<Result<(), std::io::Error>>().await
    });
    let (result, ()) = tokio::join!(work, canceller);
    let error = result.unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(error.to_string(), "cancelled while working on 3 hosts");
}

#[tokio::test(start_paused = true)]
async fn wait_for_times_out_naming_what_it_waited_for_and_the_last_probe_error() {
    let reporter = Arc::new(RecordingReporter::new());
    let ctx = ctx(&reporter);
    let attempts = AtomicUsize::new(0);
    let error = wait_for(
        &ctx,
        "control plane to be ready",
        Duration::from_secs(10),
        Duration::from_secs(2),
        || {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Err::<(), _>(format!("attempt {n}: connection refused")) }
        },
    )
    .await
    .unwrap_err();

    // Probes at 0, 2, 4, 6, 8 and a last one at the 10s deadline.
    assert_eq!(attempts.load(Ordering::SeqCst), 6);
    assert_eq!(
        error.to_string(),
        "timed out after 10s waiting for control plane to be ready; last probe error: attempt 6: connection refused"
    );
    let progress = reporter.progress_messages();
    assert_eq!(
        progress[0],
        "Waiting for control plane to be ready (0s/10s)"
    );
    assert_eq!(
        progress[1],
        "Waiting for control plane to be ready (2s/10s): attempt 1: connection refused"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_abandons_a_probe_that_hangs_past_the_deadline() {
    let ctx = ctx(&Arc::new(RecordingReporter::new()));
    let error = wait_for(
        &ctx,
        "node-1 to join",
        Duration::from_secs(60),
        Duration::from_secs(5),
        std::future::pending::<Result<(), std::io::Error>>,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "timed out after 1m0s waiting for node-1 to join; no probe finished in time"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_returns_the_probe_output_once_ready() {
    let ctx = ctx(&Arc::new(RecordingReporter::new()));
    let attempts = AtomicUsize::new(0);
    let ready = wait_for(
        &ctx,
        "3 nodes to be Ready",
        Duration::from_secs(60),
        Duration::from_secs(1),
        || {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n < 4 {
                    Err(format!("{} of 3 nodes Ready", n - 1))
                } else {
                    Ok(3)
                }
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(ready, Some(3));
}

#[tokio::test(start_paused = true)]
async fn wait_for_stops_when_cancelled() {
    let token = CancellationToken::new();
    let ctx = ctx(&Arc::new(RecordingReporter::new())).with_cancellation(token.clone());
    let canceller = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        token.cancel();
    };
    let wait = wait_for(
        &ctx,
        "control plane to be ready",
        Duration::from_secs(300),
        Duration::from_secs(1),
        || async { Err::<(), _>("connection refused") },
    );
    let (result, ()) = tokio::join!(wait, canceller);
    assert_eq!(
        result.unwrap_err().to_string(),
        "cancelled while waiting for control plane to be ready"
    );
}

#[tokio::test]
async fn wait_for_under_dry_run_does_not_probe() {
    let ctx = ctx(&Arc::new(RecordingReporter::new())).with_dry_run(true);
    let attempts = AtomicUsize::new(0);
    let out = wait_for(
        &ctx,
        "control plane to be ready",
        Duration::from_secs(300),
        Duration::from_secs(1),
        || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        },
    )
    .await
    .unwrap();
    assert_eq!(out, None);
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}
