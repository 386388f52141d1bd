//! The second half of `create` (start the server, join agents, wait, kubeconfig) against the
//! recording fake: what each step writes into which node, what a re-run skips, what a dry run
//! plans, and what a user reads when the server never comes up.

use std::sync::Arc;
use std::time::Duration;

use clusterctl_bundle::Clusterd;
use clusterctl_steps::{Ctx, RecordingReporter, Runner, Step};

use super::{create_steps, delete_steps, provision_steps, JoinAgents, StartServer};
use super::{WaitApiServer, WriteKubeconfig};
use crate::admin::ADMIN_KUBECONFIG;
use crate::args_file::{self, ARGS_FILE};
use crate::docker::{Call, DockerApi, ExecOutput, FakeDocker};
use crate::node_image::{NodeImageSpec, RootfsCache};
use crate::plan::LocalCluster;

const TOKEN: &str = "abcdef.0123456789abcdef";

struct Fixture {
    docker: FakeDocker,
    cluster: LocalCluster,
    clusterd: Arc<Clusterd>,
    dir: tempfile::TempDir,
}

/// Nodes whose clusterd answers `token create`, `token ca-hash` and `cat admin.kubeconfig`.
fn fixture(agents: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clusterd");
    std::fs::write(&path, b"clusterd bytes").unwrap();
    let clusterd = Arc::new(Clusterd::from_file(&path).unwrap());
    let docker = FakeDocker::new();
    docker.on_exec(|_, argv| {
        let line = argv.join(" ");
        let stdout = if line.ends_with("--version") {
            "clusterd 0.1.0\n".to_owned()
        } else if line.contains("token create") {
            format!("{TOKEN}\n")
        } else if line.contains("token ca-hash") {
            "sha256:c0ffee\n".to_owned()
        } else if line == format!("cat {ADMIN_KUBECONFIG}") {
            crate::admin::tests::ADMIN.to_owned()
        } else {
            String::new()
        };
        ExecOutput {
            exit_code: 0,
            stdout,
            stderr: String::new(),
        }
    });
    let mut cluster = LocalCluster::new(Arc::new(docker.clone()), "dev").unwrap();
    cluster.agents = agents;
    cluster.image = NodeImageSpec {
        cache: RootfsCache::new(dir.path()),
        ..NodeImageSpec::default()
    };
    let key = RootfsCache::key(&cluster.image.recipe, &cluster.image.mirror);
    tar::Builder::new(std::fs::File::create(cluster.image.cache.tarball(&key)).unwrap())
        .finish()
        .unwrap();
    Fixture {
        docker,
        cluster,
        clusterd,
        dir,
    }
}

impl Fixture {
    async fn provision(&self) {
        Runner::new(provision_steps(&self.cluster, self.clusterd.clone()))
            .run(&ctx(false))
            .await
            .unwrap();
    }

    fn kubeconfig(&self) -> std::path::PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn args(&self, node: &str) -> String {
        String::from_utf8(self.docker.file(node, ARGS_FILE).unwrap_or_default()).unwrap()
    }

    async fn address(&self, node: &str) -> String {
        let found = self.docker.inspect_container(node).await.unwrap().unwrap();
        found.addresses[&self.cluster.network()].clone()
    }
}

fn ctx(dry_run: bool) -> Ctx {
    Ctx::new(Arc::new(RecordingReporter::new())).with_dry_run(dry_run)
}

#[tokio::test]
async fn start_server_writes_the_server_args_with_its_address_once() {
    let f = fixture(0);
    f.provision().await;
    let steps = || -> Vec<Box<dyn Step>> { vec![Box::new(StartServer::new(f.cluster.clone()))] };
    Runner::new(steps()).run(&ctx(false)).await.unwrap();
    let address = f.address("dev-server-0").await;
    assert_eq!(
        f.args("dev-server-0"),
        args_file::render(&args_file::server_args(
            "dev",
            "dev-server-0",
            &address,
            false
        ))
    );
    let again = Runner::new(steps()).run(&ctx(false)).await.unwrap();
    assert_eq!(
        again.skipped().len(),
        1,
        "the args file marks the step done"
    );
}

#[tokio::test]
async fn agents_join_with_one_token_and_a_rerun_skips_them() {
    let f = fixture(2);
    f.provision().await;
    let steps = || -> Vec<Box<dyn Step>> {
        vec![
            Box::new(StartServer::new(f.cluster.clone())),
            Box::new(JoinAgents::new(f.cluster.clone())),
        ]
    };
    Runner::new(steps()).run(&ctx(false)).await.unwrap();
    let server = f.address("dev-server-0").await;
    for agent in ["dev-agent-0", "dev-agent-1"] {
        let address = f.address(agent).await;
        assert_eq!(
            f.args(agent),
            format!(
                "agent\n--server\nhttps://{server}:6443\n--token\n{TOKEN}\n--ca-cert-hash\nsha256:c0ffee\n--node-name\n{agent}\n--node-ip\n{address}\n"
            )
        );
    }
    let token_creations = |calls: Vec<Call>| {
        calls
            .iter()
            .filter(|c| matches!(c, Call::Exec(node, argv) if node == "dev-server-0" && argv.join(" ").contains("token create")))
            .count()
    };
    assert_eq!(token_creations(f.docker.calls()), 1);
    let again = Runner::new(steps()).run(&ctx(false)).await.unwrap();
    assert_eq!(again.skipped().len(), 2);
    assert_eq!(
        token_creations(f.docker.calls()),
        1,
        "no token for a re-run"
    );
}

#[tokio::test]
async fn dry_run_of_create_plans_server_join_and_kubeconfig_without_changes() {
    let f = fixture(1);
    let ctx = ctx(true);
    Runner::new(create_steps(
        &f.cluster,
        f.clusterd.clone(),
        Some(f.kubeconfig()),
    ))
    .run(&ctx)
    .await
    .unwrap();
    let plan: Vec<String> = ctx.plan().iter().map(ToString::to_string).collect();
    let find = |prefix: &str| plan.iter().any(|p| p.starts_with(prefix));
    assert!(
        find("would write /etc/clusterctl/clusterd.args to start `clusterd server --data-dir /var/lib/clusterd --advertise-address <address of dev-server-0>"),
        "{plan:#?}"
    );
    assert!(
        find("would create a bootstrap token (`clusterd token create`) and read the CA pin on dev-server-0"),
        "{plan:#?}"
    );
    assert!(
        find("would write /etc/clusterctl/clusterd.args to start `clusterd agent --server https://<address of dev-server-0>:6443 --token <redacted>"),
        "{plan:#?}"
    );
    assert!(
        plan.last()
            .unwrap()
            .starts_with("would merge context local-dev and make it current"),
        "{plan:#?}"
    );
    assert!(!f.kubeconfig().exists());
    assert!(f.docker.calls().iter().all(|c| matches!(c, Call::Exec(..))));
}

#[tokio::test]
async fn a_server_that_never_answers_fails_naming_the_node_with_its_log_and_cleans_up() {
    let mut f = fixture(0);
    f.cluster.wait = Duration::from_millis(600);
    f.docker.on_exec(|_, argv| ExecOutput {
        exit_code: if argv.first().map(String::as_str) == Some("cat") {
            1
        } else {
            0
        },
        stdout: String::new(),
        stderr: "cat: /var/lib/clusterd/admin.kubeconfig: No such file or directory\n".into(),
    });
    let steps = create_steps(&f.cluster, f.clusterd.clone(), Some(f.kubeconfig()));
    // What the server would have printed before giving up.
    f.docker.set_logs(
        "dev-server-0",
        "clusterd server: bind 0.0.0.0:6443: address in use\n",
    );
    let error = Runner::new(steps).run(&ctx(false)).await.unwrap_err();
    assert_eq!(error.step(), "Waiting for the API server on dev-server-0");
    let text = error.to_string();
    assert!(text.contains("admin kubeconfig /var/lib/clusterd/admin.kubeconfig in node dev-server-0: not written yet"), "{text}");
    assert!(text.contains("docker logs dev-server-0"), "{text}");
    assert!(
        text.contains("  | clusterd server: bind 0.0.0.0:6443: address in use"),
        "{text}"
    );
    assert!(f.docker.container_names().is_empty(), "cleaned up");
}

#[tokio::test]
async fn kubeconfig_context_is_merged_on_the_host_port_and_removed_by_delete() {
    let f = fixture(0);
    f.provision().await;
    let write: Vec<Box<dyn Step>> = vec![Box::new(WriteKubeconfig::new(
        f.cluster.clone(),
        Some(f.kubeconfig()),
    ))];
    Runner::new(write).run(&ctx(false)).await.unwrap();
    let port = f
        .docker
        .inspect_container("dev-server-0")
        .await
        .unwrap()
        .unwrap()
        .ports[0]
        .host_port;
    let text = std::fs::read_to_string(f.kubeconfig()).unwrap();
    assert!(text.contains("current-context: local-dev"), "{text}");
    assert!(
        text.contains(&format!("server: https://127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.contains("client-key-data: S0VZ"), "{text}");

    Runner::new(delete_steps(
        Arc::new(f.docker.clone()),
        "dev",
        Some(f.kubeconfig()),
    ))
    .run(&ctx(false))
    .await
    .unwrap();
    let text = std::fs::read_to_string(f.kubeconfig()).unwrap();
    assert!(!text.contains("local-dev"), "{text}");
}

#[tokio::test]
async fn wait_api_server_is_planned_not_probed_under_dry_run() {
    let f = fixture(0);
    let steps: Vec<Box<dyn Step>> = vec![Box::new(WaitApiServer::new(f.cluster.clone()))];
    Runner::new(steps).run(&ctx(true)).await.unwrap();
    assert!(f.docker.calls().is_empty());
}
