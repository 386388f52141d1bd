//! End to end: the built clusterctl against the moto AWS emulator (its own moto_server on a free
//! 127.0.0.1 port per test, killed at the end), checked with independent tools — awscli lists
//! what is in the emulator, real kubectl reads the kubeconfig. Run by `scripts/test e2e` after
//! `scripts/setup` has installed moto and awscli into the project venv.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const REGION: &str = "us-west-2";

/// The project venv scripts/setup fills (moto_server, aws).
fn venv_bin(name: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let path = cache.join("clusterctl/venv/bin").join(name);
    path.exists().then_some(path)
}

/// A moto_server of this test's own, with a temp HOME and kubeconfig for clusterctl.
struct Moto {
    server: Child,
    endpoint: String,
    aws: PathBuf,
    home: tempfile::TempDir,
}

impl Moto {
    /// Starts moto, or `None` (after saying why) when scripts/setup has not installed it.
    fn start() -> Option<Moto> {
        let (Some(moto), Some(aws)) = (venv_bin("moto_server"), venv_bin("aws")) else {
            eprintln!("SKIPPED: moto_server/aws not found in the project venv; run scripts/setup");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(Moto {
            server,
            endpoint: format!("http://127.0.0.1:{port}"),
            aws,
            home: tempfile::tempdir().unwrap(),
        })
    }

    fn kubeconfig(&self) -> PathBuf {
        self.home.path().join("kubeconfig")
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", REGION)
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env("CI", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("CLUSTERCTL_PROVIDER");
    }

    fn clusterctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clusterctl"));
        self.env(&mut cmd);
        cmd.args(args).output().expect("run clusterctl")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.clusterctl(args);
        assert!(
            out.status.success(),
            "clusterctl {args:?} failed:\n{}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn aws(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(&self.aws);
        self.env(&mut cmd);
        let out = cmd
            .args(args)
            .args(["--output", "text"])
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "aws {args:?} failed:\n{}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn ids(&self, args: &[&str]) -> Vec<String> {
        self.aws(args)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Every VPC, subnet, gateway, address, route table, security group, role, cluster and node
    /// group in the emulator, as `kind id` lines.
    fn inventory(&self) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        let listings: [(&str, &[&str]); 9] = [
            ("vpc", &["ec2", "describe-vpcs", "--query", "Vpcs[].VpcId"]),
            (
                "subnet",
                &["ec2", "describe-subnets", "--query", "Subnets[].SubnetId"],
            ),
            (
                "igw",
                &[
                    "ec2",
                    "describe-internet-gateways",
                    "--query",
                    "InternetGateways[].InternetGatewayId",
                ],
            ),
            (
                "nat",
                &[
                    "ec2",
                    "describe-nat-gateways",
                    "--query",
                    "NatGateways[?State!='deleted'].NatGatewayId",
                ],
            ),
            (
                "eip",
                &[
                    "ec2",
                    "describe-addresses",
                    "--query",
                    "Addresses[].AllocationId",
                ],
            ),
            (
                "rtb",
                &[
                    "ec2",
                    "describe-route-tables",
                    "--query",
                    "RouteTables[].RouteTableId",
                ],
            ),
            (
                "sg",
                &[
                    "ec2",
                    "describe-security-groups",
                    "--query",
                    "SecurityGroups[].GroupId",
                ],
            ),
            (
                "role",
                &["iam", "list-roles", "--query", "Roles[].RoleName"],
            ),
            ("cluster", &["eks", "list-clusters", "--query", "clusters"]),
        ];
        for (kind, args) in listings {
            all.extend(self.ids(args).into_iter().map(|id| format!("{kind} {id}")));
        }
        for cluster in self.ids(&["eks", "list-clusters", "--query", "clusters"]) {
            let groups = self.ids(&[
                "eks",
                "list-nodegroups",
                "--cluster-name",
                &cluster,
                "--query",
                "nodegroups",
            ]);
            all.extend(
                groups
                    .into_iter()
                    .map(|g| format!("nodegroup {cluster}/{g}")),
            );
        }
        all
    }

    fn owned_vpcs(&self, cluster: &str) -> Vec<String> {
        let filter = format!("Name=tag:clusterctl.io/cluster,Values={cluster}");
        self.ids(&[
            "ec2",
            "describe-vpcs",
            "--filters",
            &filter,
            "--query",
            "Vpcs[].VpcId",
        ])
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

const SEED: [&str; 18] = [
    "create",
    "--provider",
    "eks",
    "--name",
    "my-cluster",
    "--region",
    REGION,
    "--nodegroup-name",
    "my-nodes",
    "--node-type",
    "t3.medium",
    "--nodes",
    "2",
    "--nodes-min",
    "1",
    "--nodes-max",
    "3",
    "--managed",
];

fn nodegroup_sizes(moto: &Moto) -> (u64, u64, u64) {
    let groups = json(&moto.ok(&[
        "get",
        "nodegroups",
        "--provider",
        "eks",
        "--region",
        REGION,
        "--name",
        "my-cluster",
        "-o",
        "json",
    ]));
    let g = &groups[0];
    assert_eq!(g["name"], "my-nodes", "{groups}");
    let n = |k: &str| {
        g[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {g}"))
    };
    (n("desired"), n("min"), n("max"))
}

fn check_kubeconfig_with_kubectl(file: &Path) {
    let out = Command::new("kubectl")
        .args(["config", "view", "-o", "json", "--kubeconfig"])
        .arg(file)
        .output()
        .expect("kubectl is installed (scripts/setup)");
    assert!(
        out.status.success(),
        "kubectl rejected {}: {}",
        file.display(),
        text(&out.stderr)
    );
    let view = json(&text(&out.stdout));
    assert_eq!(view["current-context"], "eks-my-cluster", "{view}");
    let user = &view["users"][0]["user"]["exec"];
    assert_eq!(user["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(user["command"], "clusterctl");
    let args: Vec<&str> = user["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(
        args,
        [
            "token",
            "--provider",
            "eks",
            "--cluster",
            "my-cluster",
            "--region",
            REGION
        ]
    );
    let server = view["clusters"][0]["cluster"]["server"].as_str().unwrap();
    assert!(
        server.starts_with("https://") && server.contains(".us-west-2.eks.amazonaws.com"),
        "{server}"
    );
}

#[test]
#[ignore = "end-to-end: needs moto and awscli from scripts/setup; run by scripts/test e2e"]
fn eks_lifecycle_against_moto_leaves_nothing_behind() {
    let Some(moto) = Moto::start() else { return };
    let baseline = moto.inventory();

    // A dry run prints the plan and calls nothing.
    let mut dry: Vec<&str> = SEED.to_vec();
    dry.push("--dry-run");
    let plan = moto.ok(&dry);
    assert!(
        plan.contains("would create EKS cluster my-cluster (Kubernetes 1.32)"),
        "{plan}"
    );
    assert!(
        plan.contains("would create managed node group my-nodes (2 x t3.medium, min 1, max 3)"),
        "{plan}"
    );
    assert_eq!(
        moto.inventory(),
        baseline,
        "the dry run changed the emulator"
    );

    // The seed's command, as written.
    moto.ok(&SEED);
    let clusters = json(&moto.ok(&[
        "get",
        "clusters",
        "--provider",
        "eks",
        "--region",
        REGION,
        "-o",
        "json",
    ]));
    assert_eq!(clusters[0]["name"], "my-cluster", "{clusters}");
    assert_eq!(clusters[0]["status"], "ACTIVE", "{clusters}");
    assert_eq!(nodegroup_sizes(&moto), (2, 1, 3));
    let yaml = moto.ok(&[
        "get",
        "clusters",
        "--provider",
        "eks",
        "--region",
        REGION,
        "-o",
        "yaml",
    ]);
    assert!(yaml.contains("name: my-cluster"), "{yaml}");

    // Scale up and down; out of bounds is refused before any call.
    let scale = |n: &str| {
        moto.ok(&[
            "scale",
            "nodegroup",
            "my-nodes",
            "--provider",
            "eks",
            "--cluster",
            "my-cluster",
            "--region",
            REGION,
            "--nodes",
            n,
        ])
    };
    scale("3");
    assert_eq!(nodegroup_sizes(&moto), (3, 1, 3));
    scale("1");
    assert_eq!(nodegroup_sizes(&moto), (1, 1, 3));
    let refused = moto.clusterctl(&[
        "scale",
        "nodegroup",
        "my-nodes",
        "--provider",
        "eks",
        "--cluster",
        "my-cluster",
        "--region",
        REGION,
        "--nodes",
        "4",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("desired 4 is above maximum 3"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(nodegroup_sizes(&moto), (1, 1, 3));

    // A second node group comes and goes.
    moto.ok(&[
        "create",
        "nodegroup",
        "--provider",
        "eks",
        "--cluster",
        "my-cluster",
        "--region",
        REGION,
        "--name",
        "extra",
        "--nodes",
        "1",
    ]);
    assert!(moto.inventory().contains("nodegroup my-cluster/extra"));
    moto.ok(&[
        "delete",
        "nodegroup",
        "extra",
        "--provider",
        "eks",
        "--cluster",
        "my-cluster",
        "--region",
        REGION,
    ]);
    assert!(!moto.inventory().contains("nodegroup my-cluster/extra"));

    // Kubeconfig: merged by create, written on its own by `kubeconfig write`; real kubectl reads both.
    check_kubeconfig_with_kubectl(&moto.kubeconfig());
    let written = moto.home.path().join("my-cluster.kubeconfig");
    let written_arg = written.display().to_string();
    moto.ok(&[
        "kubeconfig",
        "write",
        "--provider",
        "eks",
        "--name",
        "my-cluster",
        "--region",
        REGION,
        "--output",
        &written_arg,
    ]);
    check_kubeconfig_with_kubectl(&written);

    // The token kubectl's exec plugin gets passes the authenticator's checks.
    let credential = json(&moto.ok(&[
        "token",
        "--provider",
        "eks",
        "--cluster",
        "my-cluster",
        "--region",
        REGION,
    ]));
    assert_eq!(credential["kind"], "ExecCredential");
    let token = credential["status"]["token"].as_str().unwrap();
    let url = clusterctl_provider_eks::token::verify(token, SystemTime::now()).unwrap();
    assert!(
        url.starts_with("https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity"),
        "{url}"
    );

    // With --role-arn the token is signed with the role's temporary credentials.
    let role = "arn:aws:iam::123456789012:role/clusterctl-my-cluster-node-role";
    let assumed = json(&moto.ok(&[
        "token",
        "--provider",
        "eks",
        "--cluster",
        "my-cluster",
        "--region",
        REGION,
        "--role-arn",
        role,
    ]));
    let token = assumed["status"]["token"].as_str().unwrap();
    let url = clusterctl_provider_eks::token::verify(token, SystemTime::now()).unwrap();
    assert!(url.contains("&X-Amz-Security-Token="), "{url}");
    assert!(
        !url.contains("X-Amz-Credential=testing"),
        "signed with the caller's key, not the role's: {url}"
    );

    // moto has no UpdateClusterVersion: the error says so instead of panicking.
    let upgrade = moto.clusterctl(&[
        "upgrade",
        "--provider",
        "eks",
        "--name",
        "my-cluster",
        "--region",
        REGION,
        "--version",
        "1.33",
    ]);
    assert_eq!(upgrade.status.code(), Some(1));
    assert!(
        text(&upgrade.stderr).contains("does not implement eks:UpdateClusterVersion"),
        "{}",
        text(&upgrade.stderr)
    );

    // Delete, then nothing the tool made is left.
    moto.ok(&[
        "delete",
        "--provider",
        "eks",
        "--name",
        "my-cluster",
        "--region",
        REGION,
        "--wait",
    ]);
    let after = moto.inventory();
    assert_eq!(
        after,
        baseline,
        "left behind: {:?}",
        after.difference(&baseline).collect::<Vec<_>>()
    );
    let kubeconfig = std::fs::read_to_string(moto.kubeconfig()).unwrap_or_default();
    assert!(
        !kubeconfig.contains("eks-my-cluster"),
        "context left in kubeconfig:\n{kubeconfig}"
    );
}

#[test]
#[ignore = "end-to-end: needs moto and awscli from scripts/setup; run by scripts/test e2e"]
fn create_killed_half_way_is_completed_by_a_rerun() {
    let Some(moto) = Moto::start() else { return };
    let baseline = moto.inventory();

    // Kill -9 the create as soon as the network step is done.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clusterctl"));
    moto.env(&mut cmd);
    let mut child = cmd
        .args(SEED)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let roles_started = line.contains("[3/6]");
        seen.push(line);
        if roles_started {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "create finished before it could be killed:\n{}",
        seen.join("\n")
    );
    assert_eq!(
        moto.owned_vpcs("my-cluster").len(),
        1,
        "the network step had finished"
    );
    assert!(
        moto.ids(&["eks", "list-clusters", "--query", "clusters"])
            .is_empty(),
        "no cluster yet"
    );

    // The re-run skips what exists and completes the rest.
    let rerun = moto.clusterctl(&SEED);
    let progress = text(&rerun.stderr);
    assert!(rerun.status.success(), "{progress}");
    assert!(
        progress.contains("[2/6] Creating VPC 192.168.0.0/16")
            && progress.contains("(already done)"),
        "{progress}"
    );
    assert_eq!(
        moto.owned_vpcs("my-cluster").len(),
        1,
        "the re-run made a second VPC"
    );
    assert_eq!(nodegroup_sizes(&moto), (2, 1, 3));

    moto.ok(&[
        "delete",
        "--provider",
        "eks",
        "--name",
        "my-cluster",
        "--region",
        REGION,
    ]);
    assert_eq!(moto.inventory(), baseline);
}
