//! The objects real kubectl sends for `run` and `create ...` commands decode strictly,
//! default idempotently and validate without errors, and broken variants are refused with upstream's words.

use std::path::Path;
use std::process::Command;

use clusterd_apimachinery::defaulting::{admit, apply_defaults, prepare_for_create};
use clusterd_apimachinery::validation::{unknown_fields, validate_create};
use serde_json::{json, Value};

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl_available() -> bool {
    if Path::new(KUBECTL).exists() {
        return true;
    }
    eprintln!(
        "skipping: {KUBECTL} is not installed, so kubectl's request bodies cannot be produced"
    );
    false
}

/// The body kubectl would POST for `args` (run with `--dry-run=client -o json`).
fn kubectl_body(args: &[&str]) -> Value {
    // The flags go before any `--`, after which come the container's command words.
    let split = args.iter().position(|a| *a == "--").unwrap_or(args.len());
    let output = Command::new(KUBECTL)
        .args(&args[..split])
        .args(["--dry-run=client", "-o", "json"])
        .args(&args[split..])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
            "--port=80",
        ],
        vec!["create", "namespace", "team-a"],
        vec![
            "create",
            "configmap",
            "settings",
            "--from-literal=mode=fast",
            "--from-literal=level.max=3",
        ],
        vec![
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=user=admin",
            "--from-literal=password=s3cret",
        ],
        vec![
            "create",
            "secret",
            "docker-registry",
            "pull",
            "--docker-server=r.example.com",
            "--docker-username=u",
            "--docker-password=p",
        ],
        vec!["create", "service", "nodeport", "web", "--tcp=80:8080"],
        vec!["create", "service", "clusterip", "db", "--tcp=5432:5432"],
        vec![
            "create",
            "job",
            "once",
            "--image=busybox",
            "--",
            "echo",
            "hi",
        ],
        vec![
            "create",
            "cronjob",
            "tick",
            "--image=busybox",
            "--schedule=*/5 * * * *",
            "--",
            "date",
        ],
        vec!["create", "serviceaccount", "robot"],
        // `create role` resolves resources through discovery, so it needs a server and is not listed.
        vec!["create", "ingress", "web", "--rule=example.com/=web:80"],
    ]
}

#[test]
fn bodies_kubectl_sends_are_accepted() {
    if !kubectl_available() {
        return;
    }
    // `kubectl run` needs a server even with --dry-run=client; its body is the one recorded in wire §5.
    let run = json!({"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx-pod","creationTimestamp":null,"labels":{"run":"nginx-pod"}},
        "spec":{"containers":[{"name":"nginx-pod","image":"nginx","resources":{}}],"restartPolicy":"Never","dnsPolicy":"ClusterFirst"},"status":{}});
    let mut bodies = vec![(vec!["run"], run)];
    bodies.extend(commands().into_iter().map(|args| {
        let body = kubectl_body(&args);
        (args, body)
    }));
    for (args, mut object) in bodies {
        let unknown =
            unknown_fields(&object).unwrap_or_else(|err| panic!("kubectl {args:?}: {err}"));
        assert_eq!(
            unknown.unwrap_or_default(),
            Vec::<String>::new(),
            "kubectl {args:?} sent fields we do not know"
        );
        apply_defaults(&mut object);
        admit(&mut object);
        prepare_for_create(&mut object);
        let once = object.clone();
        apply_defaults(&mut object);
        admit(&mut object);
        prepare_for_create(&mut object);
        assert_eq!(object, once, "defaulting kubectl {args:?} twice changed it");
        let errors: Vec<String> = validate_create(&object)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "kubectl {args:?}");
    }
}

#[test]
fn broken_kubectl_bodies_are_refused_with_upstream_words() {
    if !kubectl_available() {
        return;
    }
    let mut deployment = kubectl_body(&["create", "deployment", "web", "--image=nginx:1.27"]);
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes");
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    deployment["spec"]["replicass"] = json!(2);
    assert_eq!(
        unknown_fields(&deployment).unwrap().unwrap(),
        ["spec.replicass"]
    );
    apply_defaults(&mut deployment);
    let errors: Vec<String> = validate_create(&deployment)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "spec.template.spec.containers[0].image: Required value",
            "spec.template.spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        ]
    );
}
