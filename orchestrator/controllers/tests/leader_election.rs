//! `run_while_leading` against a real in-process API server: only the lease holder runs its
//! work, a follower takes over within the lease period when the holder goes away, work that ends
//! by itself is started again while leading, and an error of the work is returned.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterd_controllers::leader_election::{run_while_leading, LeaderElectionConfig};
use support::{kube_client, TestServer};

/// Short enough for a quick test, long enough that a renewal delayed by a busy machine (CI runs
/// many tests on 2 cores) does not look like a dead leader: the holder renews every 250 ms and
/// loses the lease only after 4 s without one.
fn timings(lease: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        name: lease.into(),
        lease_duration: Duration::from_secs(4),
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_millis(250),
        ..LeaderElectionConfig::default()
    }
}

/// Who is running their work right now.
#[derive(Clone, Default)]
struct Running(Arc<Mutex<Vec<&'static str>>>);

impl Running {
    fn now(&self) -> Vec<&'static str> {
        self.0.lock().expect("lock").clone()
    }

    /// Work that runs until stopped, listed in `self` while it runs.
    async fn work(self, name: &'static str) -> Result<(), String> {
        struct Listed(Running, &'static str);
        impl Drop for Listed {
            fn drop(&mut self) {
                self.0 .0.lock().expect("lock").retain(|n| *n != self.1);
            }
        }
        self.0.lock().expect("lock").push(name);
        let _listed = Listed(self, name);
        std::future::pending::<()>().await;
        Ok(())
    }

    async fn wait_for(&self, want: &[&str], timeout: Duration) -> Duration {
        let start = Instant::now();
        while self.now() != want {
            assert!(
                start.elapsed() < timeout,
                "running {:?}, want {want:?}",
                self.now()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        start.elapsed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_works_and_a_follower_takes_over_within_the_lease_period() {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let running = Running::default();
    let config = timings("election-test");
    let spawn = |name: &'static str| {
        let running = running.clone();
        tokio::spawn(run_while_leading(
            client.clone(),
            name.into(),
            config.clone(),
            move || running.clone().work(name),
        ))
    };
    let a = spawn("a");
    running.wait_for(&["a"], Duration::from_secs(10)).await;
    let b = spawn("b");
    tokio::time::sleep(config.lease_duration * 2).await;
    assert_eq!(running.now(), ["a"], "b follows while a renews");

    // a goes away without giving the lease up: b leads once it expires.
    a.abort();
    let took = running.wait_for(&["b"], Duration::from_secs(20)).await;
    assert!(
        took <= config.lease_duration + config.retry_period + Duration::from_secs(2),
        "b took {took:?} to take over"
    );
    b.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_ends_is_started_again_and_an_error_is_returned() {
    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let starts = Arc::new(AtomicUsize::new(0));
    let counted = starts.clone();
    let restarting = tokio::spawn(run_while_leading(
        client.clone(),
        "c".into(),
        timings("restart-test"),
        move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        },
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while starts.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "work was not started again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    restarting.abort();

    let failed = run_while_leading(client, "d".into(), timings("error-test"), || async {
        Err::<(), _>("the work failed".to_string())
    });
    let result = tokio::time::timeout(Duration::from_secs(10), failed)
        .await
        .expect("the error ends the election");
    assert_eq!(result, Err("the work failed".to_string()));
}
