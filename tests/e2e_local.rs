//! End to end: the clusterctl binary creates a local cluster (1 server + 1 agent) on this
//! machine's Docker with the clusterd it carries, real kubectl sees the agent Ready through the
//! merged `local-<name>` context, `get`, `image load`, `export logs` and a resuming re-run work,
//! and `delete` removes the containers, volumes, network and the context.
//! Run by `scripts/test e2e`; ignored by plain `cargo test`.

use std::path::Path;
use std::process::{Command, Output};

/// Removes whatever the test cluster left in Docker, even when an assertion failed.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label=clusterctl.io/cluster={}", self.0);
        for (list, remove) in [
            (vec!["ps", "-aq"], vec!["rm", "-fv"]),
            (vec!["volume", "ls", "-q"], vec!["volume", "rm", "-f"]),
            (vec!["network", "ls", "-q"], vec!["network", "rm"]),
        ] {
            let found = docker(&[list, vec!["--filter", &filter]].concat());
            for id in found.split_whitespace() {
                docker(&[remove.clone(), vec![id]].concat());
            }
        }
        docker(&["rmi", "-f", &format!("clusterctl-e2e/busybox:{}", self.0)]);
    }
}

fn docker(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

fn clusterctl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterctl"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("CLUSTERCTL_PROVIDER")
        .output()
        .expect("run clusterctl")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// A busybox image made from the host's static busybox, in this machine's Docker.
fn busybox_image(reference: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", dir.path().join("bin/sh")).unwrap();
    let script = format!(
        "tar -C {} -c . | docker import -c 'CMD [\"/bin/sh\"]' - {reference}",
        dir.path().display()
    );
    let status = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(status.success(), "docker import {reference}");
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn local_cluster_is_created_used_by_kubectl_and_deleted() {
    let name = format!("e2e{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let context = format!("local-{name}");

    let started = std::time::Instant::now();
    let created = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "--provider",
            "local",
            "--name",
            &name,
            "--workers",
            "1",
            "--wait",
            "120s",
        ],
    ));
    eprintln!(
        "create took {:.1}s\n{created}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        created.contains(&format!(
            "cluster {name} is ready; kubectl now uses context {context}"
        )),
        "{created}"
    );

    let kubectl = |args: &[&str]| {
        ok(Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap())
    };
    let nodes = kubectl(&["get", "nodes"]);
    let agent = format!("{name}-agent-0");
    assert!(
        nodes
            .lines()
            .any(|line| line.starts_with(&agent) && line.contains(" Ready ")),
        "{nodes}"
    );
    assert!(kubectl(&["get", "namespaces"]).contains("kube-system"));

    let clusters = ok(clusterctl(
        &kubeconfig,
        &["get", "clusters", "--provider", "local", "-o", "json"],
    ));
    assert!(
        clusters.contains(&format!("\"name\": \"{name}\"")),
        "{clusters}"
    );
    let listed = ok(clusterctl(
        &kubeconfig,
        &["get", "nodes", "--provider", "local", "--name", &name],
    ));
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&agent) && line.contains("Ready")),
        "{listed}"
    );

    let image = format!("clusterctl-e2e/busybox:{name}");
    busybox_image(&image);
    let loaded = ok(clusterctl(
        &kubeconfig,
        &["image", "load", &image, "--name", &name],
    ));
    assert!(loaded.contains("2 imports, 0 already present"), "{loaded}");
    let again = ok(clusterctl(
        &kubeconfig,
        &["image", "load", &image, "--name", &name],
    ));
    assert!(again.contains("0 imports, 2 already present"), "{again}");

    let logs = tempfile::tempdir().unwrap();
    ok(clusterctl(
        &kubeconfig,
        &[
            "export",
            "logs",
            &logs.path().display().to_string(),
            "--name",
            &name,
        ],
    ));
    let agent_log = std::fs::read_to_string(logs.path().join(&agent).join("clusterd.log")).unwrap();
    assert!(agent_log.contains("starting clusterd agent"), "{agent_log}");

    // A re-run resumes: nothing is started twice.
    let rerun = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "--provider",
            "local",
            "--name",
            &name,
            "--workers",
            "1",
        ],
    ));
    assert!(
        rerun.contains(&format!(
            "Starting clusterd server on {name}-server-0 (already done)"
        )),
        "{rerun}"
    );
    assert!(
        rerun.contains("Joining 1 agent to the cluster (already done)"),
        "{rerun}"
    );

    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &name],
    ));
    let filter = format!("label=clusterctl.io/cluster={name}");
    assert!(docker(&["ps", "-aq", "--filter", &filter])
        .trim()
        .is_empty());
    assert!(docker(&["network", "ls", "-q", "--filter", &filter])
        .trim()
        .is_empty());
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(!config.contains(&context), "{config}");
}

/// A web server image: the host's static busybox serving `/www` with httpd on port 80.
fn web_image(reference: &str) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["bin", "www"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.path().join("bin/busybox")).expect("busybox-static");
    for applet in ["sh", "httpd", "nc", "nslookup", "cat", "echo", "sleep"] {
        std::os::unix::fs::symlink("busybox", dir.path().join("bin").join(applet)).unwrap();
    }
    std::fs::write(dir.path().join("www/index.html"), "hello from clusterd\n").unwrap();
    let script = format!(
        "tar -C {} -c . | docker import -c 'ENV PATH=/bin' \
         -c 'CMD [\"/bin/httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]' - {reference}",
        dir.path().display()
    );
    let status = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(status.success(), "docker import {reference}");
}

/// A free TCP port on 127.0.0.1 (free when this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /` on 127.0.0.1:`port`, retried for up to 20 s.
fn http_get(port: u16) -> String {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(std::time::Duration::from_secs(3)))?;
            stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        })();
        match attempt {
            Ok(response) if response.contains("200 OK") => return response,
            other if std::time::Instant::now() > deadline => {
                panic!("GET http://127.0.0.1:{port}/ never answered 200: {other:?}")
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(300)),
        }
    }
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn seed_kubectl_workflow_on_one_server_and_two_workers() {
    let name = format!("wf{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let host_port = free_port();
    let config_file = home.path().join("cluster.yaml");
    std::fs::write(
        &config_file,
        format!(
            "apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\n\
             provider: local\nlocal:\n  workers: 2\n  workerLabels: {{tier: web}}\n\
             \x20 serverTaints: [{{key: example.com/quiet, effect: PreferNoSchedule}}]\n\
             \x20 portMappings:\n\
             \x20   - containerPort: 30080\n      hostPort: {host_port}\n"
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let created = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "-f",
            &config_file.display().to_string(),
            "--wait",
            "180s",
        ],
    ));
    eprintln!("create 1+2 took {:.1}s", started.elapsed().as_secs_f64());
    assert!(created.contains("3/3 nodes Ready"), "{created}");

    let kubectl_out = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap()
    };
    let kubectl = |args: &[&str]| ok(kubectl_out(args));

    let nodes = kubectl(&["get", "nodes"]);
    for node in ["server-0", "agent-0", "agent-1"] {
        let node = format!("{name}-{node}");
        assert!(
            nodes
                .lines()
                .any(|line| line.starts_with(&node) && line.contains(" Ready ")),
            "{node} is not Ready:\n{nodes}"
        );
    }
    // local.workerLabels and local.serverTaints reach the Node objects.
    let labelled = kubectl(&["get", "nodes", "-l", "tier=web", "-o", "name"]);
    assert_eq!(
        labelled.lines().collect::<Vec<_>>(),
        [
            format!("node/{name}-agent-0"),
            format!("node/{name}-agent-1")
        ],
        "{labelled}"
    );
    let taints = kubectl(&[
        "get",
        "node",
        &format!("{name}-server-0"),
        "-o",
        "jsonpath={.spec.taints[*].key}={.spec.taints[*].effect}",
    ]);
    assert_eq!(taints, "example.com/quiet=PreferNoSchedule");

    let image = format!("clusterctl-e2e/web:{name}");
    web_image(&image);
    let _image = ImageCleanup(image.clone());
    ok(clusterctl(
        &kubeconfig,
        &["image", "load", &image, "--name", &name],
    ));

    // run, get, describe
    kubectl(&[
        "run",
        "nginx-pod",
        &format!("--image={image}"),
        "--restart=Never",
    ]);
    kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/nginx-pod",
        "--timeout=90s",
    ]);
    let pods = kubectl(&["get", "pods", "-o", "wide"]);
    assert!(
        pods.contains("nginx-pod") && pods.contains("Running"),
        "{pods}"
    );
    let described = kubectl(&["describe", "pod", "nginx-pod"]);
    assert!(described.contains("Started container"), "{described}");

    // expose as a NodePort and reach it from the host through the port mapping
    kubectl(&["expose", "pod", "nginx-pod", "--type=NodePort", "--port=80"]);
    kubectl(&[
        "patch",
        "service",
        "nginx-pod",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/ports/0/nodePort","value":30080}]"#,
    ]);
    let body = http_get(host_port);
    assert!(body.contains("hello from clusterd"), "{body}");

    // a Deployment applied from a manifest, then scaled
    let manifest = home.path().join("deployment.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n\
             \x20 selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n\
             \x20   spec:\n      containers:\n      - name: web\n        image: {image}\n        ports:\n        - containerPort: 80\n"
        ),
    )
    .unwrap();
    kubectl(&["apply", "-f", &manifest.display().to_string()]);
    kubectl(&["scale", "deployment", "web", "--replicas=3"]);
    kubectl(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let running = kubectl(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--field-selector=status.phase=Running",
        "-o",
        "name",
    ]);
    assert_eq!(running.lines().count(), 3, "{running}");
    kubectl(&["expose", "deployment", "web", "--port=80"]);

    // logs, exec with an exit code, DNS and a Service from inside a pod
    kubectl(&[
        "run",
        "client",
        &format!("--image={image}"),
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo hello-logs; exec sleep 3600",
    ]);
    kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/client",
        "--timeout=90s",
    ]);
    let logs = kubectl(&["logs", "client"]);
    assert!(logs.contains("hello-logs"), "{logs}");
    let exec = kubectl_out(&[
        "exec",
        "nginx-pod",
        "--",
        "sh",
        "-c",
        "cat /www/index.html; exit 3",
    ]);
    assert_eq!(exec.status.code(), Some(3), "{}", text(&exec));
    assert!(text(&exec).contains("hello from clusterd"));
    let lookup = kubectl(&[
        "exec",
        "client",
        "--",
        "nslookup",
        "web.default.svc.cluster.local",
    ]);
    let cluster_ip = kubectl(&["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    assert!(lookup.contains(cluster_ip.trim()), "{lookup}");
    let through_service = kubectl(&[
        "exec",
        "client",
        "--",
        "sh",
        "-c",
        &format!(
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {} 80",
            cluster_ip.trim()
        ),
    ]);
    assert!(
        through_service.contains("hello from clusterd"),
        "{through_service}"
    );

    // multi-container pod: a sidecar writes into a shared emptyDir that the web server serves,
    // and a third container reaches the web server over the pod's localhost
    let multi = home.path().join("multi.yaml");
    std::fs::write(
        &multi,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: multi\nspec:\n  volumes:\n  - name: shared\n    emptyDir: {{}}\n\
             \x20 containers:\n  - name: web\n    image: {image}\n    command: [httpd, -f, -p, \"8080\", -h, /shared]\n\
             \x20   volumeMounts: [{{name: shared, mountPath: /shared}}]\n\
             \x20 - name: writer\n    image: {image}\n    command: [sh, -c, \"while true; do echo written-by-sidecar > /out/index.html; sleep 1; done\"]\n\
             \x20   volumeMounts: [{{name: shared, mountPath: /out}}]\n\
             \x20 - name: reader\n    image: {image}\n    command: [sleep, \"3600\"]\n"
        ),
    )
    .unwrap();
    kubectl(&["apply", "-f", &multi.display().to_string()]);
    kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/multi",
        "--timeout=90s",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let shared = loop {
        let out = kubectl_out(&[
            "exec",
            "multi",
            "-c",
            "reader",
            "--",
            "sh",
            "-c",
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 8080",
        ]);
        if text(&out).contains("written-by-sidecar") || std::time::Instant::now() > deadline {
            break text(&out);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(shared.contains("written-by-sidecar"), "{shared}");

    // graceful delete
    kubectl(&["delete", "pod", "nginx-pod", "--timeout=60s"]);
    let gone = kubectl_out(&["get", "pod", "nginx-pod"]);
    assert!(!gone.status.success(), "{}", text(&gone));

    // scale the workers: a third one joins like the first two (same labels), then two go and
    // their pods move to the nodes that stay.
    let scale = |nodes: &str| {
        ok(clusterctl(
            &kubeconfig,
            &[
                "scale",
                "nodegroup",
                "workers",
                "--provider",
                "local",
                "--cluster",
                &name,
                "--nodes",
                nodes,
            ],
        ))
    };
    let grown = scale("3");
    assert!(grown.contains("4/4 nodes Ready"), "{grown}");
    let labelled = kubectl(&["get", "nodes", "-l", "tier=web", "-o", "name"]);
    assert!(
        labelled.contains(&format!("node/{name}-agent-2")),
        "{labelled}"
    );
    let groups = ok(clusterctl(
        &kubeconfig,
        &[
            "get",
            "nodegroups",
            "--provider",
            "local",
            "--cluster",
            &name,
        ],
    ));
    assert!(
        groups.lines().any(|l| {
            let columns: Vec<&str> = l.split_whitespace().collect();
            columns.get(1) == Some(&"workers") && columns.get(4) == Some(&"3")
        }),
        "{groups}"
    );
    let shrunk = scale("1");
    assert!(
        shrunk.contains(&format!(
            "Draining and removing {name}-agent-2, {name}-agent-1"
        )),
        "{shrunk}"
    );
    let nodes = kubectl(&["get", "nodes", "-o", "name"]);
    assert_eq!(
        nodes.lines().count(),
        2,
        "server-0 and agent-0 stay:\n{nodes}"
    );
    kubectl(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let placed = kubectl(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].spec.nodeName}",
    ]);
    assert!(
        placed
            .split_whitespace()
            .all(|node| node == format!("{name}-server-0") || node == format!("{name}-agent-0")),
        "pods left on removed workers: {placed}"
    );
    assert_eq!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=clusterctl.io/cluster={name}")
        ])
        .lines()
        .count(),
        2
    );

    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &name],
    ));
}

/// Removes a test image from this machine's Docker.
struct ImageCleanup(String);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        docker(&["rmi", "-f", &self.0]);
    }
}

/// Restarts the Docker daemon the way scripts/setup-docker starts it, and waits until it answers.
fn restart_docker() {
    if Path::new("/run/systemd/system").exists() {
        let status = Command::new("systemctl")
            .args(["restart", "docker"])
            .status()
            .unwrap();
        assert!(status.success(), "systemctl restart docker");
        return;
    }
    let pid = std::fs::read_to_string("/var/run/docker.pid").expect("dockerd's pid file");
    let pid = pid.trim();
    assert!(Command::new("kill").arg(pid).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "dockerd {pid} did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::fs::remove_file("/var/run/docker.pid");
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-docker");
    let out = Command::new(setup).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// Every node of the cluster behind `kubeconfig`'s context is Ready within `within`.
fn wait_all_ready(kubeconfig: &Path, context: &str, count: usize, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--context", context, "get", "nodes", "--no-headers"])
            .output()
            .unwrap();
        last = text(&out);
        let ready = last
            .lines()
            .filter(|line| line.split_whitespace().nth(1) == Some("Ready"))
            .count();
        if out.status.success() && ready == count && last.lines().count() == count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("{context}: not {count} Ready nodes within {within:?}:\n{last}");
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn two_clusters_side_by_side_a_bad_config_a_docker_restart_and_a_reused_name() {
    let (a, b) = (
        format!("sa{}", std::process::id()),
        format!("sb{}", std::process::id()),
    );
    let (_clean_a, _clean_b) = (Cleanup(a.clone()), Cleanup(b.clone()));
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let create = |name: &str| {
        clusterctl(
            &kubeconfig,
            &[
                "create",
                "--provider",
                "local",
                "--name",
                name,
                "--wait",
                "180s",
            ],
        )
    };

    // A bad config names the file, line and field, and creates nothing.
    let bad = home.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!(
            "apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {a}\n\
             provider: local\nlocal:\n  workers: -1\n"
        ),
    )
    .unwrap();
    let refused = clusterctl(&kubeconfig, &["create", "-f", &bad.display().to_string()]);
    assert!(!refused.status.success());
    let message = text(&refused);
    assert!(
        message.contains("bad.yaml:7: local.workers: must be >= 0 (is -1)"),
        "{message}"
    );
    let filter_a = format!("label=clusterctl.io/cluster={a}");
    assert!(docker(&["ps", "-aq", "--filter", &filter_a])
        .trim()
        .is_empty());
    assert!(docker(&["network", "ls", "-q", "--filter", &filter_a])
        .trim()
        .is_empty());

    // Two clusters at once, each with its own network, port and context.
    let (out_a, out_b) = std::thread::scope(|scope| {
        let first = scope.spawn(|| create(&a));
        let second = scope.spawn(|| create(&b));
        (first.join().unwrap(), second.join().unwrap())
    });
    ok(out_a);
    ok(out_b);
    let (ctx_a, ctx_b) = (format!("local-{a}"), format!("local-{b}"));
    wait_all_ready(&kubeconfig, &ctx_a, 1, std::time::Duration::from_secs(60));
    wait_all_ready(&kubeconfig, &ctx_b, 1, std::time::Duration::from_secs(60));
    let kubectl = |context: &str, args: &[&str]| {
        ok(Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--context")
            .arg(context)
            .args(args)
            .output()
            .unwrap())
    };
    assert_eq!(
        kubectl(&ctx_a, &["get", "nodes", "-o", "name"]).trim(),
        format!("node/{a}-server-0")
    );
    assert_eq!(
        kubectl(&ctx_b, &["get", "nodes", "-o", "name"]).trim(),
        format!("node/{b}-server-0")
    );
    kubectl(
        &ctx_a,
        &["create", "configmap", "kept", "--from-literal=k=v"],
    );

    // The Docker daemon restarts under both: the nodes come back and the clusters are Ready with
    // their state.
    restart_docker();
    let restarted = std::time::Instant::now();
    wait_all_ready(&kubeconfig, &ctx_a, 1, std::time::Duration::from_secs(120));
    wait_all_ready(&kubeconfig, &ctx_b, 1, std::time::Duration::from_secs(120));
    eprintln!(
        "both clusters Ready {:.1}s after dockerd restarted",
        restarted.elapsed().as_secs_f64()
    );
    assert_eq!(
        kubectl(
            &ctx_a,
            &["get", "configmap", "kept", "-o", "jsonpath={.data.k}"]
        ),
        "v"
    );

    // Deleting one leaves the other untouched; the name can be used again.
    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &a],
    ));
    assert!(docker(&["ps", "-aq", "--filter", &filter_a])
        .trim()
        .is_empty());
    let filter_b = format!("label=clusterctl.io/cluster={b}");
    assert_eq!(
        docker(&["ps", "-q", "--filter", &filter_b]).lines().count(),
        1
    );
    kubectl(&ctx_b, &["get", "--raw", "/readyz"]);
    let recreated = ok(create(&a));
    assert!(
        recreated.contains(&format!("cluster {a} is ready")),
        "{recreated}"
    );
    wait_all_ready(&kubeconfig, &ctx_a, 1, std::time::Duration::from_secs(60));
    let fresh = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--context", &ctx_a, "get", "configmap", "kept"])
        .output()
        .unwrap();
    assert!(
        !fresh.status.success() && text(&fresh).contains("NotFound"),
        "a recreated cluster starts empty: {}",
        text(&fresh)
    );
    for name in [&a, &b] {
        ok(clusterctl(
            &kubeconfig,
            &["delete", "--provider", "local", "--name", name],
        ));
    }
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn create_interrupted_with_ctrl_c_is_completed_by_a_rerun() {
    let name = format!("ic{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let args = [
        "create",
        "--provider",
        "local",
        "--name",
        name.as_str(),
        "--workers",
        "1",
        "--wait",
        "180s",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_clusterctl"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt as soon as the first node container exists: half the work is done.
    let filter = format!("label=clusterctl.io/cluster={name}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while docker(&["ps", "-aq", "--filter", &filter])
        .trim()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no node container appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let interrupted = child.wait_with_output().unwrap();
    let message = text(&interrupted);
    assert_eq!(interrupted.status.code(), Some(130), "{message}");
    assert!(
        message.contains("nothing was cleaned up, re-run the same command to resume"),
        "{message}"
    );
    assert!(
        !docker(&["ps", "-aq", "--filter", &filter])
            .trim()
            .is_empty(),
        "an interrupted create keeps what it made"
    );

    let resumed = ok(clusterctl(&kubeconfig, &args));
    assert!(resumed.contains("2/2 nodes Ready"), "{resumed}");
    assert!(resumed.contains("(already done)"), "{resumed}");
    wait_all_ready(
        &kubeconfig,
        &format!("local-{name}"),
        2,
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        docker(&["ps", "-q", "--filter", &filter]).lines().count(),
        2,
        "the re-run made no extra containers"
    );
    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &name],
    ));
}

#[test]
#[ignore = "end-to-end: run by scripts/test e2e (needs Docker, the node image and clusterd)"]
fn three_servers_behind_a_load_balancer_survive_losing_the_leader() {
    let name = format!("ha{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    let config_file = home.path().join("ha.yaml");
    std::fs::write(
        &config_file,
        format!(
            "apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\n\
             provider: local\nlocal:\n  servers: 3\n  workers: 1\n"
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let created = ok(clusterctl(
        &kubeconfig,
        &[
            "create",
            "-f",
            &config_file.display().to_string(),
            "--wait",
            "180s",
        ],
    ));
    eprintln!(
        "create 3+1 (HA) took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(created.contains("4/4 nodes Ready"), "{created}");
    assert!(created.contains("Starting etcd on 3 servers"), "{created}");
    let context = format!("local-{name}");
    let kubectl_out = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap()
    };
    let kubectl = |args: &[&str]| ok(kubectl_out(args));

    // The kubeconfig points at the load balancer, the only container publishing the API port.
    let published = docker(&[
        "ps",
        "--filter",
        &format!("label=clusterctl.io/cluster={name}"),
        "--format",
        "{{.Names}} {{.Ports}}",
    ]);
    let lb_port = published
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}-lb 127.0.0.1:")))
        .and_then(|rest| rest.split("->").next())
        .unwrap_or_else(|| panic!("no published API port on {name}-lb:\n{published}"))
        .to_owned();
    assert_eq!(
        published.lines().filter(|l| l.contains("->6443")).count(),
        1,
        "{published}"
    );
    let server = kubectl(&[
        "config",
        "view",
        "--minify",
        "--context",
        &context,
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    assert_eq!(server, format!("https://127.0.0.1:{lb_port}"));
    let listed = ok(clusterctl(
        &kubeconfig,
        &["get", "nodes", "--provider", "local", "--name", &name],
    ));
    assert!(listed.contains(&format!("{name}-lb")), "{listed}");

    // Every server serves the `kubernetes` Service; one leads the controllers and the scheduler.
    let endpoints = |kubectl_out: &dyn Fn(&[&str]) -> Output| {
        text(&kubectl_out(&[
            "get",
            "endpoints",
            "kubernetes",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ]))
    };
    assert_eq!(
        endpoints(&kubectl_out).split_whitespace().count(),
        3,
        "{}",
        endpoints(&kubectl_out)
    );
    let holder = |lease: &str| {
        let out = kubectl_out(&[
            "get",
            "lease",
            "-n",
            "kube-system",
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        text(&out).split('_').next().unwrap_or_default().to_owned()
    };
    let leader = holder("clusterd-controllers");
    assert!(
        leader.starts_with(&format!("{name}-server-")),
        "controllers leader {leader:?}"
    );
    assert_eq!(holder("clusterd-scheduler"), leader);

    // The leader's node stops: another server takes over within the lease period (15 s) plus
    // its retry period, and the API stays reachable through the load balancer.
    docker(&["stop", "-t", "2", &leader]);
    let stopped = std::time::Instant::now();
    let mut new_leader = leader.clone();
    while new_leader == leader || new_leader.is_empty() {
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(45),
            "no new controllers leader 45 s after {leader} stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        new_leader = holder("clusterd-controllers");
    }
    eprintln!(
        "{new_leader} leads {:.1}s after {leader} stopped",
        stopped.elapsed().as_secs_f64()
    );
    let agent = format!("{name}-agent-0");
    let manifest = home.path().join("after.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: after\nspec:\n  replicas: 2\n\
             \x20 selector:\n    matchLabels: {{app: after}}\n  template:\n    metadata:\n      labels: {{app: after}}\n\
             \x20   spec:\n      nodeSelector: {{kubernetes.io/hostname: {agent}}}\n\
             \x20     containers:\n      - name: pause\n        image: clusterd.local/pause:3.10\n"
        ),
    )
    .unwrap();
    kubectl(&["apply", "-f", &manifest.display().to_string()]);
    kubectl(&["rollout", "status", "deployment/after", "--timeout=90s"]);
    // The stopped server's API lease expires and it leaves the `kubernetes` endpoints.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while endpoints(&kubectl_out).split_whitespace().count() != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the stopped server stays in the kubernetes endpoints: {}",
            endpoints(&kubectl_out)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    ok(clusterctl(
        &kubeconfig,
        &["delete", "--provider", "local", "--name", &name],
    ));
    let filter = format!("label=clusterctl.io/cluster={name}");
    assert!(docker(&["ps", "-aq", "--filter", &filter])
        .trim()
        .is_empty());
    assert!(docker(&["volume", "ls", "-q", "--filter", &filter])
        .trim()
        .is_empty());
}
