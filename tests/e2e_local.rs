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
             provider: local\nlocal:\n  workers: 2\n  portMappings:\n\
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
