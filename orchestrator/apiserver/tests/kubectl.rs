//! The real kubectl (v1.32 on PATH) against a real in-process API server: discovery, Tables,
//! writes, patches, apply, edit, scale, watch, wait and delete.

mod support;

use std::time::Duration;

use support::{header, kubectl_binary, TestServer};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        env: [{name: MODE, value: blue}]
        ports:
        - containerPort: 80
";

#[test]
fn discovery_lists_resources_and_group_versions() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    let resources = kubectl.ok(&["api-resources"]);
    let line = |name: &str| {
        resources
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(line("pods").unwrap(), ["pods", "po", "v1", "true", "Pod"]);
    assert_eq!(
        line("deployments").unwrap(),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        line("namespaces").unwrap(),
        ["namespaces", "ns", "v1", "false", "Namespace"]
    );
    let versions = kubectl.ok(&["api-versions"]);
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
        "apiextensions.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l == gv),
            "{gv} missing from {versions}"
        );
    }
    let version = kubectl.ok(&["version", "-o", "json"]);
    assert!(
        version.contains("\"gitVersion\": \"v1.32.0+clusterd\""),
        "{version}"
    );
}

#[test]
fn namespaces_configmaps_and_secrets_are_created_and_read_back() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    let namespaces = kubectl.ok(&["get", "namespaces", "-o", "name"]);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            namespaces.contains(&format!("namespace/{ns}")),
            "{namespaces}"
        );
    }
    assert_eq!(
        kubectl.ok(&["create", "namespace", "shop"]).trim(),
        "namespace/shop created"
    );
    assert_eq!(
        kubectl
            .ok(&[
                "-n",
                "shop",
                "create",
                "configmap",
                "settings",
                "--from-literal=color=blue"
            ])
            .trim(),
        "configmap/settings created"
    );
    assert_eq!(
        kubectl
            .ok(&[
                "-n",
                "shop",
                "create",
                "secret",
                "generic",
                "creds",
                "--from-literal=password=s3cr3t"
            ])
            .trim(),
        "secret/creds created"
    );
    assert_eq!(
        kubectl.ok(&[
            "-n",
            "shop",
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "blue"
    );
    assert_eq!(
        kubectl.ok(&[
            "-n",
            "shop",
            "get",
            "secret",
            "creds",
            "-o",
            "jsonpath={.data.password}"
        ]),
        "czNjcjN0"
    );
    let secrets = kubectl.ok(&["-n", "shop", "get", "secrets"]);
    assert_eq!(header(&secrets), ["NAME", "TYPE", "DATA", "AGE"]);
    assert!(
        secrets.lines().nth(1).unwrap().starts_with("creds"),
        "{secrets}"
    );
    let everywhere = kubectl.ok(&["get", "configmaps", "-A"]);
    assert_eq!(header(&everywhere), ["NAMESPACE", "NAME", "DATA", "AGE"]);
    assert!(
        everywhere
            .lines()
            .any(|l| l.split_whitespace().take(3).eq(["shop", "settings", "1"])),
        "{everywhere}"
    );
    let err = kubectl.fails(&["-n", "nowhere", "create", "configmap", "x"]);
    assert!(err.contains("namespaces \"nowhere\" not found"), "{err}");
    let err = kubectl.fails(&["-n", "shop", "create", "configmap", "settings"]);
    assert!(
        err.contains("configmaps \"settings\" already exists"),
        "{err}"
    );
}

#[test]
fn pods_print_upstream_columns_and_honour_selectors_and_sorting() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    assert_eq!(
        kubectl
            .ok(&["run", "nginx-pod", "--image=nginx", "--restart=Never"])
            .trim(),
        "pod/nginx-pod created"
    );
    kubectl.ok(&[
        "run",
        "another",
        "--image=busybox:1.36",
        "--restart=Never",
        "--labels=tier=db",
    ]);
    let pods = kubectl.ok(&["get", "pods"]);
    assert_eq!(
        header(&pods),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let row: Vec<&str> = pods
        .lines()
        .find(|l| l.starts_with("nginx-pod"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..4], ["nginx-pod", "0/1", "Pending", "0"]);
    let yaml = kubectl.ok(&["get", "pod", "nginx-pod", "-o", "yaml"]);
    for want in [
        "imagePullPolicy: Always",
        "restartPolicy: Never",
        "phase: Pending",
        "uid: ",
        "resourceVersion: ",
    ] {
        assert!(yaml.contains(want), "{want} missing from {yaml}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&kubectl.ok(&["get", "pod", "another", "-o", "json"])).unwrap();
    assert_eq!(
        json["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let all = kubectl.ok(&["get", "pods", "-A"]);
    assert_eq!(
        header(&all),
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(
        kubectl
            .ok(&["get", "pods", "-l", "tier=db", "-o", "name"])
            .trim(),
        "pod/another"
    );
    assert_eq!(
        kubectl
            .ok(&[
                "get",
                "pods",
                "--field-selector",
                "metadata.name=nginx-pod",
                "-o",
                "name"
            ])
            .trim(),
        "pod/nginx-pod"
    );
    let sorted = kubectl.ok(&["get", "pods", "--sort-by=.metadata.name", "--no-headers"]);
    let names: Vec<&str> = sorted
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["another", "nginx-pod"]);
    let err = kubectl.fails(&["get", "pods", "--field-selector", "spec.bogus=1"]);
    assert!(
        err.contains("field label not supported: spec.bogus"),
        "{err}"
    );
    let described = kubectl.ok(&["describe", "pod", "nginx-pod"]);
    assert!(
        described.contains("Name:")
            && described.contains("nginx-pod")
            && described.contains("Status:")
            && described.contains("Pending"),
        "{described}"
    );
}

#[test]
fn label_annotate_and_every_patch_type_change_the_object() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    kubectl.ok(&["run", "web", "--image=nginx", "--restart=Never"]);
    assert_eq!(
        kubectl.ok(&["label", "pod", "web", "tier=front"]).trim(),
        "pod/web labeled"
    );
    assert_eq!(
        kubectl
            .ok(&["annotate", "pod", "web", "owner=team-a"])
            .trim(),
        "pod/web annotated"
    );
    kubectl.ok(&[
        "patch",
        "pod",
        "web",
        "-p",
        r#"{"metadata":{"labels":{"strategic":"yes"}}}"#,
    ]);
    kubectl.ok(&[
        "patch",
        "pod",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"merge":"yes"}}}"#,
    ]);
    kubectl.ok(&[
        "patch",
        "pod",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels/json","value":"yes"}]"#,
    ]);
    let labels = kubectl.ok(&["get", "pod", "web", "-o", "jsonpath={.metadata.labels}"]);
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(
        labels,
        serde_json::json!({"run": "web", "tier": "front", "strategic": "yes", "merge": "yes", "json": "yes"})
    );
    assert_eq!(
        kubectl.ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.owner}"
        ]),
        "team-a"
    );
    let err = kubectl.fails(&[
        "patch",
        "pod",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/metadata/resourceVersion","value":"1"}]"#,
    ]);
    assert!(err.contains("the object has been modified"), "{err}");
}

#[test]
fn apply_twice_client_and_server_side_then_edit_and_scale() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    let file = server.path("web.yaml");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(
        kubectl.ok(&["apply", "-f", file]).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        kubectl.ok(&["apply", "-f", file]).trim(),
        "deployment.apps/web unchanged"
    );
    std::fs::write(file, DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")).unwrap();
    assert_eq!(
        kubectl.ok(&["apply", "-f", file]).trim(),
        "deployment.apps/web configured"
    );
    let spec = kubectl.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value} {.metadata.generation}"]);
    assert_eq!(
        spec, "nginx:1.28 blue 2",
        "the strategic patch keeps sibling container fields"
    );
    assert_eq!(
        kubectl.ok(&["apply", "--server-side", "-f", file]).trim(),
        "deployment.apps/web serverside-applied"
    );
    assert_eq!(
        kubectl.ok(&["apply", "--server-side", "-f", file]).trim(),
        "deployment.apps/web serverside-applied"
    );
    let managers = kubectl.ok(&[
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(managers.contains("kubectl"), "{managers}");
    assert_eq!(
        kubectl
            .ok(&["scale", "deployment", "web", "--replicas=3"])
            .trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(
        kubectl.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    let deployments = kubectl.ok(&["get", "deployments"]);
    assert_eq!(
        header(&deployments),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert!(
        deployments.lines().nth(1).unwrap().starts_with("web "),
        "{deployments}"
    );
    let editor = server.path("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/replicas: 3/replicas: 5/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = kubectl
        .command(&["edit", "deployment", "web"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "deployment.apps/web edited"
    );
    assert_eq!(
        kubectl.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "5"
    );
    let diff = kubectl.run(&["diff", "-f", file]);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff shows the edited replicas"
    );
    assert!(String::from_utf8_lossy(&diff.stdout).contains("-  replicas: 5"));
    let explained = kubectl.ok(&["explain", "deployment.spec.replicas"]);
    assert!(
        explained.contains("FIELD: replicas <integer>"),
        "{explained}"
    );
    assert!(explained.contains("Number of desired pods"), "{explained}");
}

#[test]
fn get_watch_prints_objects_created_by_another_kubectl() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    kubectl.ok(&["create", "configmap", "first"]);
    let mut watcher = kubectl
        .command(&["get", "configmaps", "-w", "--request-timeout=20s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the watcher's rows as they come; write only once it printed the initial list.
    let (rows_tx, rows) = std::sync::mpsc::channel::<String>();
    let stdout = watcher.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = rows_tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let next = || {
        rows.recv_timeout(Duration::from_secs(20))
            .expect("a watch row")
    };
    lines.push(next());
    lines.push(next());
    kubectl.ok(&["create", "configmap", "second"]);
    kubectl.ok(&["delete", "configmap", "first"]);
    lines.push(next());
    lines.push(next());
    watcher.kill().unwrap();
    let _ = watcher.wait();
    let text = lines.join("\n");
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // The initial row, the created one, then the deleted one printed once more.
    assert_eq!(names, ["NAME", "first", "second", "first"], "{text}");
}

#[test]
fn wait_for_condition_and_for_delete_finish() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    kubectl.ok(&["run", "job-pod", "--image=busybox", "--restart=Never"]);
    let waiter = kubectl
        .command(&[
            "wait",
            "--for=condition=Ready",
            "pod/job-pod",
            "--timeout=20s",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    kubectl.ok(&[
        "patch",
        "pod",
        "job-pod",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#,
    ]);
    let status = waiter.wait_with_output().unwrap();
    assert!(status.status.success(), "wait for Ready failed");
    let waiter = kubectl
        .command(&["wait", "--for=delete", "pod/job-pod", "--timeout=20s"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        kubectl.ok(&["delete", "pod", "job-pod"]).trim(),
        "pod \"job-pod\" deleted"
    );
    assert!(
        waiter.wait_with_output().unwrap().status.success(),
        "wait for delete failed"
    );
    let err = kubectl.fails(&["get", "pod", "job-pod"]);
    assert!(err.contains("pods \"job-pod\" not found"), "{err}");
}

#[test]
fn typed_create_subcommands_and_expose_are_decoded_and_defaulted() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    // kubectl's typed clients send these bodies as Kubernetes protobuf.
    assert_eq!(
        kubectl
            .ok(&[
                "create",
                "deployment",
                "api",
                "--image=nginx:1.27",
                "--replicas=2",
                "--port=8080"
            ])
            .trim(),
        "deployment.apps/api created"
    );
    let deployment: serde_json::Value =
        serde_json::from_str(&kubectl.ok(&["get", "deploy", "api", "-o", "json"])).unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    assert_eq!(
        deployment["spec"]["strategy"]["type"], "RollingUpdate",
        "defaulted"
    );
    assert_eq!(
        kubectl
            .ok(&[
                "create",
                "job",
                "once",
                "--image=busybox",
                "--",
                "echo",
                "hi"
            ])
            .trim(),
        "job.batch/once created"
    );
    assert_eq!(
        kubectl.ok(&[
            "get",
            "job",
            "once",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].command}"
        ]),
        r#"["echo","hi"]"#
    );
    kubectl.ok(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=*/5 * * * *",
        "--",
        "date",
    ]);
    kubectl.ok(&[
        "create",
        "ingress",
        "shop",
        "--rule=shop.example/cart=cart:8080",
    ]);
    assert_eq!(
        kubectl.ok(&[
            "get",
            "ingress",
            "shop",
            "-o",
            "jsonpath={.spec.rules[0].http.paths[0].backend.service.name}"
        ]),
        "cart"
    );
    kubectl.ok(&["create", "serviceaccount", "robot"]);
    kubectl.ok(&[
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods",
    ]);
    kubectl.ok(&[
        "create",
        "rolebinding",
        "robot-reads",
        "--role=reader",
        "--serviceaccount=default:robot",
    ]);
    kubectl.ok(&["create", "quota", "small", "--hard=pods=10"]);
    assert_eq!(
        kubectl
            .ok(&[
                "expose",
                "deployment",
                "api",
                "--port=80",
                "--target-port=8080",
                "--type=NodePort"
            ])
            .trim(),
        "service/api exposed"
    );
    let service: serde_json::Value =
        serde_json::from_str(&kubectl.ok(&["get", "service", "api", "-o", "json"])).unwrap();
    let ip = service["spec"]["clusterIP"].as_str().unwrap();
    assert!(ip.starts_with("10.") && ip != "10.96.0.1", "allocated {ip}");
    let node_port = service["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    assert!((30000..=32767).contains(&node_port), "{node_port}");
    let services = kubectl.ok(&["get", "services"]);
    assert_eq!(
        header(&services),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert!(
        services.contains(&format!("80:{node_port}/TCP")),
        "{services}"
    );
    assert_eq!(
        kubectl
            .ok(&[
                "create",
                "configmap",
                "dry",
                "--dry-run=server",
                "-o",
                "name"
            ])
            .trim(),
        "configmap/dry"
    );
    assert!(
        kubectl
            .fails(&["get", "configmap", "dry"])
            .contains("not found"),
        "dry run stores nothing"
    );
}

#[test]
fn paging_generate_name_metrics_and_health_answer_like_upstream() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    for name in ["a", "b", "c", "d", "e"] {
        kubectl.ok(&["create", "configmap", name]);
    }
    // --chunk-size=2 makes kubectl follow three continue tokens.
    let paged = kubectl.ok(&["get", "configmaps", "--chunk-size=2", "-o", "name"]);
    let names: Vec<&str> = paged.lines().collect();
    assert_eq!(
        names,
        [
            "configmap/a",
            "configmap/b",
            "configmap/c",
            "configmap/d",
            "configmap/e"
        ]
    );
    let raw = kubectl.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?limit=2",
    ]);
    let page: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(
        page["metadata"]["continue"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{page}"
    );
    assert!(
        page["metadata"]["resourceVersion"].as_str().is_some(),
        "{page}"
    );
    let file = server.path("generated.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: job-\n",
    )
    .unwrap();
    let created = kubectl.ok(&["create", "-f", file.to_str().unwrap(), "-o", "name"]);
    let name = created
        .trim()
        .strip_prefix("configmap/job-")
        .unwrap_or_else(|| panic!("{created}"));
    assert_eq!(name.len(), 5, "{created}");
    let metrics = kubectl.ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics.contains("# TYPE apiserver_request_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resource=\"configmaps\",verb=\"POST\""),
        "{metrics}"
    );
    for path in ["/healthz", "/livez", "/readyz"] {
        assert_eq!(kubectl.ok(&["get", "--raw", path]), "ok");
    }
}

const WIDGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - {name: Teeth, type: integer, jsonPath: .spec.teeth}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
";

#[test]
fn custom_resources_are_applied_listed_with_printer_columns_and_deleted() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    let crd = server.path("crd.yaml");
    std::fs::write(&crd, WIDGET_CRD).unwrap();
    assert_eq!(
        kubectl.ok(&["apply", "-f", crd.to_str().unwrap()]).trim(),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    kubectl.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    let widget = server.path("gear.yaml");
    std::fs::write(
        &widget,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: gear}\nspec: {teeth: 12}\n",
    )
    .unwrap();
    assert_eq!(
        kubectl
            .ok(&["apply", "-f", widget.to_str().unwrap()])
            .trim(),
        "widget.example.com/gear created"
    );
    std::fs::write(
        &widget,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: gear}\nspec: {teeth: 14}\n",
    )
    .unwrap();
    assert_eq!(
        kubectl
            .ok(&["apply", "-f", widget.to_str().unwrap()])
            .trim(),
        "widget.example.com/gear configured"
    );
    let listed = kubectl.ok(&["get", "wd"]);
    assert_eq!(header(&listed), ["NAME", "TEETH", "AGE"]);
    assert!(
        listed
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .take(2)
            .eq(["gear", "14"]),
        "{listed}"
    );
    assert_eq!(
        kubectl.ok(&["delete", "widget", "gear"]).trim(),
        "widget.example.com \"gear\" deleted"
    );
}

#[test]
fn cascade_orphan_and_foreground_deletes_leave_the_finalizer_for_the_garbage_collector() {
    let Some(bin) = kubectl_binary() else { return };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
    kubectl.ok(&["create", "deployment", "keep", "--image=nginx"]);
    kubectl.ok(&["create", "deployment", "first", "--image=nginx"]);
    kubectl.ok(&[
        "delete",
        "deployment",
        "keep",
        "--cascade=orphan",
        "--wait=false",
    ]);
    kubectl.ok(&[
        "delete",
        "deployment",
        "first",
        "--cascade=foreground",
        "--wait=false",
    ]);
    let finalizers = |name: &str| {
        kubectl.ok(&[
            "get",
            "deployment",
            name,
            "-o",
            "jsonpath={.metadata.finalizers} {.metadata.deletionTimestamp}",
        ])
    };
    let keep = finalizers("keep");
    assert!(keep.starts_with(r#"["orphan"] "#), "{keep}");
    assert!(
        keep.trim_end().len() > r#"["orphan"] "#.len(),
        "no deletionTimestamp: {keep}"
    );
    let first = finalizers("first");
    assert!(first.starts_with(r#"["foregroundDeletion"] "#), "{first}");
    // The garbage collector removes the finalizer when it is done; then the object goes.
    kubectl.ok(&[
        "patch",
        "deployment",
        "keep",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    let gone = kubectl.fails(&["get", "deployment", "keep"]);
    assert!(gone.contains("not found"), "{gone}");
    let refused = kubectl.fails(&["delete", "deployment", "first", "--cascade=sideways"]);
    assert!(
        refused.contains("sideways") || refused.contains("cascade"),
        "{refused}"
    );
}
