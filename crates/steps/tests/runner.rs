//! The runner against fake steps: order, dry-run, cleanup, retain, skip, cancellation.

mod support;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use clusterctl_steps::{
    wait_for, BoxFuture, CancellationToken, Ctx, Event, RecordingReporter, RunError, Runner, Step,
    StepResult,
};
use support::{FakeStep, Hang, World};

fn ctx(reporter: &Arc<RecordingReporter>) -> Ctx {
    Ctx::new(Arc::clone(reporter) as Arc<dyn clusterctl_steps::Reporter>)
}

fn three_steps(world: &Arc<World>) -> Vec<Box<dyn Step>> {
    vec![
        FakeStep::new("network", world).boxed(),
        FakeStep::new("nodes", world).boxed(),
        FakeStep::new("kubeconfig", world).boxed(),
    ]
}

/// Events without their timings, for comparing sequences.
fn shape(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            Event::StepStarted {
                index,
                total,
                title,
            } => format!("started {index}/{total} {title}"),
            Event::StepProgress { message } => format!("progress {message}"),
            Event::StepFinished { title, .. } => format!("finished {title}"),
            Event::StepSkipped { title, .. } => format!("skipped {title}"),
            Event::StepFailed { title, error, .. } => format!("failed {title}: {error}"),
            Event::StepCancelled { title, .. } => format!("cancelled {title}"),
            Event::CleanupStarted { title } => format!("cleanup {title}"),
            Event::CleanupFinished { title, .. } => format!("cleaned {title}"),
            Event::CleanupFailed { title, error, .. } => format!("cleanup failed {title}: {error}"),
        })
        .collect()
}

#[tokio::test]
async fn steps_run_in_order_and_each_reports_start_and_finish() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let report = Runner::new(three_steps(&world))
        .run(&ctx(&reporter))
        .await
        .unwrap();

    assert_eq!(
        world.log(),
        ["create network", "create nodes", "create kubeconfig"]
    );
    assert_eq!(
        report.ran(),
        ["Creating network", "Creating nodes", "Creating kubeconfig"]
    );
    assert!(report.skipped().is_empty());
    assert_eq!(
        shape(&reporter.events()),
        [
            "started 1/3 Creating network",
            "finished Creating network",
            "started 2/3 Creating nodes",
            "finished Creating nodes",
            "started 3/3 Creating kubeconfig",
            "finished Creating kubeconfig",
        ]
    );
}

#[tokio::test]
async fn dry_run_mutates_nothing_and_plans_every_action_in_order() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let ctx = ctx(&reporter).with_dry_run(true);
    Runner::new(three_steps(&world)).run(&ctx).await.unwrap();

    assert!(world.log().is_empty(), "dry run mutated: {:?}", world.log());
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    assert_eq!(
        plan,
        [
            "would create network on network-host",
            "would create nodes on nodes-host",
            "would create kubeconfig on kubeconfig-host",
        ]
    );
    let steps: Vec<Option<String>> = ctx.plan().into_iter().map(|action| action.step).collect();
    assert_eq!(
        steps,
        [
            Some("Creating network".into()),
            Some("Creating nodes".into()),
            Some("Creating kubeconfig".into()),
        ]
    );
}

#[tokio::test]
async fn failure_in_step_three_cleans_three_two_one_in_reverse() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let steps = vec![
        FakeStep::new("network", &world).boxed(),
        FakeStep::new("nodes", &world).boxed(),
        FakeStep::new("server", &world)
            .failing("clusterd exited with status 1")
            .boxed(),
        FakeStep::new("kubeconfig", &world).boxed(),
    ];
    let error = Runner::new(steps).run(&ctx(&reporter)).await.unwrap_err();

    assert_eq!(
        world.log(),
        [
            "create network",
            "create nodes",
            "create server",
            "remove server",
            "remove nodes",
            "remove network",
        ]
    );
    assert!(world.resources().is_empty());
    assert_eq!(error.step(), "Creating server");
    assert_eq!(
        error.to_string(),
        "step \"Creating server\" failed: clusterd exited with status 1"
    );
    let events = shape(&reporter.events());
    assert_eq!(
        events[events.len() - 7..],
        [
            "failed Creating server: clusterd exited with status 1",
            "cleanup Creating server",
            "cleaned Creating server",
            "cleanup Creating nodes",
            "cleaned Creating nodes",
            "cleanup Creating network",
            "cleaned Creating network",
        ]
    );
}

#[tokio::test]
async fn failure_error_carries_the_original_and_every_cleanup_error() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let steps = vec![
        FakeStep::new("network", &world)
            .failing_cleanup("network dev in use")
            .boxed(),
        FakeStep::new("nodes", &world)
            .failing_cleanup("docker daemon not running")
            .boxed(),
        FakeStep::new("server", &world)
            .failing("port 6443 in use")
            .boxed(),
    ];
    let error = Runner::new(steps)
        .cleanup_hint("run `clusterctl delete --name dev`")
        .run(&ctx(&reporter))
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "step \"Creating server\" failed: port 6443 in use\n\
         cleanup of \"Creating nodes\" failed: docker daemon not running\n\
         cleanup of \"Creating network\" failed: network dev in use\n\
         some resources may remain; to clean up, run `clusterctl delete --name dev`"
    );
    assert_eq!(error.cleanup_errors().len(), 2);
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("port 6443 in use")
    );
    assert_eq!(world.resources(), ["network", "nodes"]);
}

#[tokio::test]
async fn retain_skips_cleanup_and_says_how_to_clean_up() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let steps = vec![
        FakeStep::new("network", &world).boxed(),
        FakeStep::new("server", &world).failing("boom").boxed(),
    ];
    let error = Runner::new(steps)
        .retain(true)
        .cleanup_hint("run `clusterctl delete --name dev`")
        .run(&ctx(&reporter))
        .await
        .unwrap_err();

    assert_eq!(world.resources(), ["network", "server"]);
    assert!(!world.log().iter().any(|entry| entry.starts_with("remove")));
    assert_eq!(
        error.to_string(),
        "step \"Creating server\" failed: boom\n\
         resources were retained for inspection; to clean up, run `clusterctl delete --name dev`"
    );
    assert!(!shape(&reporter.events())
        .iter()
        .any(|event| event.starts_with("cleanup")));
}

#[tokio::test]
async fn steps_already_done_are_skipped_and_reported() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    Runner::new(vec![FakeStep::new("network", &world).boxed()])
        .run(&ctx(&RecordingReporter::new().into()))
        .await
        .unwrap();

    let report = Runner::new(three_steps(&world))
        .run(&ctx(&reporter))
        .await
        .unwrap();

    assert_eq!(report.skipped(), ["Creating network"]);
    assert_eq!(report.ran(), ["Creating nodes", "Creating kubeconfig"]);
    assert_eq!(
        world.log(),
        ["create network", "create nodes", "create kubeconfig"]
    );
    assert_eq!(
        shape(&reporter.events())[..2],
        ["started 1/3 Creating network", "skipped Creating network"]
    );
}

#[tokio::test]
async fn cancellation_mid_step_stops_without_cleanup_and_a_rerun_resumes() {
    let world = World::new();
    let hang = Arc::new(Hang::default());
    let steps = vec![
        FakeStep::new("network", &world).boxed(),
        FakeStep::new("nodes", &world).hanging_once(&hang).boxed(),
        FakeStep::new("kubeconfig", &world).boxed(),
    ];
    let runner = Runner::new(steps);
    let token = CancellationToken::new();
    let reporter = Arc::new(RecordingReporter::new());
    let first = ctx(&reporter).with_cancellation(token.clone());

    let canceller = async {
        hang.started.notified().await;
        token.cancel();
    };
    let (result, ()) = tokio::join!(runner.run(&first), canceller);

    let error = result.unwrap_err();
    assert!(matches!(&error, RunError::Cancelled { step } if step == "Creating nodes"));
    assert_eq!(
        error.to_string(),
        "cancelled during step \"Creating nodes\"; nothing was cleaned up, re-run the same command to resume"
    );
    assert_eq!(world.resources(), ["network", "nodes"]);
    let events = shape(&reporter.events());
    assert_eq!(
        events.last().map(String::as_str),
        Some("cancelled Creating nodes")
    );
    assert!(!events.iter().any(|event| event.starts_with("cleanup")));

    // The same command again, with a fresh token: finished steps are skipped.
    let report = runner
        .run(&ctx(&RecordingReporter::new().into()))
        .await
        .unwrap();
    assert_eq!(report.skipped(), ["Creating network", "Creating nodes"]);
    assert_eq!(report.ran(), ["Creating kubeconfig"]);
    assert_eq!(world.resources(), ["kubeconfig", "network", "nodes"]);
}

/// A step that waits for something that never becomes ready.
struct WaitForever;

impl Step for WaitForever {
    fn title(&self) -> String {
        "Waiting for control plane".into()
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            wait_for(
                ctx,
                "control plane to be ready",
                Duration::from_secs(300),
                Duration::from_secs(1),
                || async { Err::<(), _>("connection refused") },
            )
            .await?;
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_step_that_gives_up_because_of_cancellation_counts_as_cancelled() {
    let world = World::new();
    let token = CancellationToken::new();
    let reporter = Arc::new(RecordingReporter::new());
    let ctx = ctx(&reporter).with_cancellation(token.clone());
    let runner = Runner::new(vec![
        FakeStep::new("network", &world).boxed(),
        Box::new(WaitForever),
    ]);
    let canceller = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        token.cancel();
    };
    let (result, ()) = tokio::join!(runner.run(&ctx), canceller);

    assert!(result.unwrap_err().is_cancelled());
    assert_eq!(world.resources(), ["network"]);
    assert!(reporter
        .progress_messages()
        .contains(&"Waiting for control plane to be ready (30s/5m0s): connection refused".into()));
}

/// A step whose `is_done` check cannot reach the API.
struct BrokenCheck;

impl Step for BrokenCheck {
    fn title(&self) -> String {
        "Checking cluster".into()
    }

    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async { Ok(()) })
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async { Err("eks: access denied".into()) })
    }
}

#[tokio::test]
async fn a_failing_is_done_check_fails_the_step_and_cleans_up() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let error = Runner::new(vec![
        FakeStep::new("network", &world).boxed(),
        Box::new(BrokenCheck),
    ])
    .run(&ctx(&reporter))
    .await
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "step \"Checking cluster\" failed: checking whether it is already done: eks: access denied"
    );
    assert!(world.resources().is_empty());
}

#[tokio::test]
async fn a_failed_dry_run_cleans_nothing_up_and_keeps_the_plan_clean() {
    let world = World::new();
    let reporter = Arc::new(RecordingReporter::new());
    let ctx = ctx(&reporter).with_dry_run(true);
    let error = Runner::new(vec![
        FakeStep::new("network", &world).boxed(),
        FakeStep::new("server", &world).failing("boom").boxed(),
    ])
    .run(&ctx)
    .await
    .unwrap_err();

    assert_eq!(error.step(), "Creating server");
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    assert_eq!(
        plan,
        [
            "would create network on network-host",
            "would create server on server-host"
        ]
    );
    assert!(world.log().is_empty());
}

/// Hands a generated value to a later step through the context's extensions.
struct GeneratePki;
struct UsePki(Arc<std::sync::Mutex<Option<String>>>);

#[derive(Clone)]
struct PkiDir(String);

impl Step for GeneratePki {
    fn title(&self) -> String {
        "Generating certificates".into()
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            ctx.extensions()
                .insert(PkiDir("/var/lib/clusterctl/dev/pki".into()));
            Ok(())
        })
    }
}

impl Step for UsePki {
    fn title(&self) -> String {
        "Uploading certificates".into()
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let dir = ctx.extensions().get::<PkiDir>().ok_or("no pki directory")?;
            *self.0.lock().unwrap() = Some(dir.0);
            Ok(())
        })
    }
}

#[tokio::test]
async fn later_steps_read_what_earlier_steps_left_in_extensions() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    Runner::new(vec![
        Box::new(GeneratePki),
        Box::new(UsePki(Arc::clone(&seen))),
    ])
    .run(&ctx(&RecordingReporter::new().into()))
    .await
    .unwrap();
    assert_eq!(
        seen.lock().unwrap().as_deref(),
        Some("/var/lib/clusterctl/dev/pki")
    );
}
