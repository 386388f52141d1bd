//! Two `clusterd server` processes sharing one etcd (over TLS with client certificates): the
//! second joins with a copy of the first one's `pki/`, both serve the same objects to real
//! kubectl, exactly one runs the scheduler and the controllers, and after `kill -9` of that one
//! the other takes over within the lease period; the `kubernetes` Service's endpoints follow the
//! servers' leases.

mod ha_cluster;

use std::process::Command;
use std::time::Instant;

use ha_cluster::etcd_server::{EtcdServer, ServerTls};
use ha_cluster::{
    free_port, make_etcd_pki, missing_prerequisite, run, wait_for, Server, TestAddresses,
    ENDPOINT_LEASE, LEASE, RETRY, SLACK, WAIT,
};

/// A Ready node with room for pods; its `kube-node-lease` Lease is renewed by [`heartbeat`].
fn create_node(server: &Server, name: &str) {
    let node = format!(
        r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}","labels":{{"kubernetes.io/hostname":"{name}"}}}},
        "status":{{"allocatable":{{"cpu":"8","memory":"16Gi","pods":"110"}},"capacity":{{"cpu":"8","memory":"16Gi","pods":"110"}},
        "addresses":[{{"type":"InternalIP","address":"172.18.0.9"}}],
        "conditions":[{{"type":"Ready","status":"True","lastHeartbeatTime":"{}"}}]}}}}"#,
        now_rfc3339(false)
    );
    let path = server.dir.join("node.json");
    std::fs::write(&path, node).expect("write node manifest");
    server.kubectl(&["create", "-f", path.to_str().expect("utf-8 path")]);
}

fn now_rfc3339(micros: bool) -> String {
    let format = if micros {
        "+%Y-%m-%dT%H:%M:%S.%6NZ"
    } else {
        "+%Y-%m-%dT%H:%M:%SZ"
    };
    run(Command::new("date").args(["-u", format]))
}

/// Renews node `name`'s Lease through whichever server answers, like its kubelet would.
fn heartbeat(servers: &[&Server], name: &str) {
    let lease = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"{name}","namespace":"kube-node-lease"}},
        "spec":{{"holderIdentity":"{name}","leaseDurationSeconds":40,"renewTime":"{}"}}}}"#,
        now_rfc3339(true)
    );
    for server in servers {
        let path = server.dir.join("node-lease.json");
        if std::fs::write(&path, &lease).is_ok()
            && server
                .try_kubectl(&["apply", "-f", path.to_str().expect("utf-8 path")])
                .is_ok()
        {
            return;
        }
    }
}

/// Whether `server` logged that it started the component of lease `lease` as its leader.
fn started(server: &Server, lease: &str) -> bool {
    server
        .log()
        .lines()
        .any(|line| line.contains("leading: starting") && line.contains(lease))
}

/// Names of the nodes the pods labelled `app=<app>` are bound to, once `replicas` are bound.
fn bound_nodes(server: &Server, app: &str, replicas: usize) -> Option<String> {
    let nodes = server
        .try_kubectl(&[
            "get",
            "pods",
            "-l",
            &format!("app={app}"),
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ])
        .ok()?;
    (nodes.split_whitespace().count() == replicas).then_some(nodes)
}

#[test]
fn two_servers_share_etcd_one_leads_and_the_other_takes_over_after_kill_9() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let etcd_pki = work.path().join("etcd-pki");
    std::fs::create_dir_all(&etcd_pki).expect("create etcd pki dir");
    make_etcd_pki(&etcd_pki);
    let file = |name: &str| etcd_pki.join(name);
    let etcd = EtcdServer::start_with_tls(Some(ServerTls {
        ca: file("ca.crt"),
        cert: file("server.crt"),
        key: file("server.key"),
    }))
    .expect("etcd is installed");
    let datastore = format!(
        "etcd+https://{}?ca={}&cert={}&key={}",
        etcd.client_address(),
        file("ca.crt").display(),
        file("client.crt").display(),
        file("client.key").display()
    );
    let addresses = TestAddresses::add();
    let (ip_a, ip_b) = (addresses.0[0], addresses.0[1]);
    let port = free_port(&addresses.0);

    // Server A creates the cluster's PKI; it wins both leases before B exists.
    let mut a = Server::start(&work.path().join("a"), ip_a, port, &datastore);
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        wait_for(&format!("A to hold {lease}"), WAIT, || {
            (a.lease_holder_pid(lease) == Some(a.pid())).then_some(())
        });
    }

    // A server without the cluster's CA is refused instead of making a second CA.
    let log = Server::refused(&work.path().join("no-ca"), ip_b, port, &datastore);
    assert!(
        log.contains("whose ca is not") && log.contains("this server has no ca.crt"),
        "{log}"
    );
    let foreign = work.path().join("foreign-ca");
    std::fs::create_dir_all(foreign.join("pki")).expect("create pki dir");
    for name in ["ca.crt", "ca.key"] {
        std::fs::copy(etcd_pki.join(name), foreign.join("pki").join(name)).expect("copy ca");
    }
    let log = Server::refused(&foreign, ip_b, port, &datastore);
    assert!(log.contains("its ca.crt is another"), "{log}");

    // Server B joins with a copy of A's whole pki/ (A's serving certificate included).
    let b_dir = work.path().join("b");
    std::fs::create_dir_all(b_dir.join("pki")).expect("create B's pki dir");
    for entry in std::fs::read_dir(a.dir.join("pki")).expect("read A's pki") {
        let entry = entry.expect("pki entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), b_dir.join("pki").join(entry.file_name()))
                .expect("copy pki file");
        }
    }
    let b = Server::start(&b_dir, ip_b, port, &datastore);

    // The shared CA and keys are untouched; B's serving certificate was reissued for B's address.
    for shared in [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "sa.key",
    ] {
        assert_eq!(
            std::fs::read(a.dir.join("pki").join(shared)).expect("read A's file"),
            std::fs::read(b.dir.join("pki").join(shared)).expect("read B's file"),
            "{shared} differs between the servers"
        );
    }
    let ca = a.dir.join("pki/ca.crt");
    for (server, other) in [(&a, ip_b), (&b, ip_a)] {
        let cert = server.dir.join("pki/apiserver.crt");
        let verified = run(Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&ca)
            .arg(&cert));
        assert!(verified.ends_with(": OK"), "{verified}");
        let own = run(Command::new("openssl")
            .args(["x509", "-noout", "-checkip", &server.ip.to_string(), "-in"])
            .arg(&cert));
        assert!(own.contains("does match"), "{own}");
        let foreign = run(Command::new("openssl")
            .args(["x509", "-noout", "-checkip", &other.to_string(), "-in"])
            .arg(&cert));
        assert!(foreign.contains("NOT match"), "{foreign}");
    }
    // A's admin credentials work against B, whose certificate verifies with the shared CA.
    let b_url = format!("https://{ip_b}:{port}");
    assert_eq!(
        a.kubectl(&[
            "--server",
            &b_url,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}"
        ]),
        "kubernetes-admin"
    );

    // Both serve the same objects.
    a.kubectl(&[
        "create",
        "configmap",
        "shared",
        "--from-literal=written-on=a",
    ]);
    assert_eq!(
        b.kubectl(&[
            "get",
            "configmap",
            "shared",
            "-o",
            "jsonpath={.data.written-on}"
        ]),
        "a"
    );
    b.kubectl(&["create", "namespace", "from-b"]);
    assert_eq!(
        a.kubectl(&["get", "namespace", "from-b", "-o", "name"]),
        "namespace/from-b"
    );

    // Exactly one leader: A holds both leases (B follows), and keeps them.
    std::thread::sleep(LEASE + RETRY);
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        assert_eq!(
            b.lease_holder_pid(lease),
            Some(a.pid()),
            "holder of {lease}"
        );
    }

    // The kubernetes Service's endpoints list both servers.
    let both = format!("{ip_a} {ip_b}");
    wait_for("both servers in the kubernetes endpoints", WAIT, || {
        (b.kubernetes_endpoints() == both).then_some(())
    });
    let apiserver_leases = b.kubectl(&[
        "get",
        "leases",
        "-n",
        "kube-system",
        "-l",
        "k8s.io/component=kube-apiserver",
        "-o",
        "name",
    ]);
    assert_eq!(apiserver_leases.lines().count(), 2, "{apiserver_leases}");

    // A Deployment created on B is run by A's controllers and scheduler.
    create_node(&b, "ha-node");
    heartbeat(&[&b, &a], "ha-node");
    b.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=busybox",
        "--replicas=2",
    ]);
    let nodes = wait_for("web's pods bound to ha-node", WAIT, || {
        heartbeat(&[&b], "ha-node");
        bound_nodes(&b, "web", 2)
    });
    assert_eq!(nodes, "ha-node ha-node");
    assert_eq!(
        b.kubectl(&[
            "get",
            "rs",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.replicas}"
        ]),
        "2"
    );

    // Only A ever started them.
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        assert!(started(&a, lease), "A never started {lease}:\n{}", a.log());
        assert!(!started(&b, lease), "B started {lease}:\n{}", b.log());
    }

    // kill -9 the leader: B leads both within the lease period.
    a.kill_9();
    let killed = Instant::now();
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        wait_for(&format!("B to hold {lease}"), WAIT, || {
            (b.lease_holder_pid(lease) == Some(b.pid())).then_some(())
        });
    }
    let takeover = killed.elapsed();
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        wait_for(&format!("B to start {lease}"), WAIT, || {
            started(&b, lease).then_some(())
        });
    }
    assert!(
        takeover <= LEASE + RETRY + SLACK,
        "B took {takeover:?} to lead, more than lease {LEASE:?} + retry {RETRY:?} + {SLACK:?}"
    );

    // The dead server drops out of the endpoints once its lease expires.
    let dropped = wait_for("A to leave the kubernetes endpoints", WAIT, || {
        (b.kubernetes_endpoints() == ip_b.to_string()).then(|| killed.elapsed())
    });
    assert!(
        dropped <= ENDPOINT_LEASE + ENDPOINT_LEASE / 3 + SLACK,
        "A stayed in the endpoints for {dropped:?}"
    );
    assert_eq!(
        b.kubectl(&[
            "get",
            "endpointslice",
            "kubernetes",
            "-o",
            "jsonpath={.endpoints[*].addresses[*]}"
        ]),
        ip_b.to_string()
    );

    // The new leader runs a new Deployment.
    b.kubectl(&[
        "create",
        "deployment",
        "api",
        "--image=busybox",
        "--replicas=3",
    ]);
    let nodes = wait_for("api's pods bound to ha-node", WAIT, || {
        heartbeat(&[&b], "ha-node");
        bound_nodes(&b, "api", 3)
    });
    assert_eq!(nodes, "ha-node ha-node ha-node");

    // A restarts on its data dir: it rejoins the endpoints and follows B.
    let mut a = Server::start(&a.dir.clone(), ip_a, port, &datastore);
    wait_for(
        "the restarted A back in the kubernetes endpoints",
        WAIT,
        || (b.kubernetes_endpoints() == both).then_some(()),
    );
    for lease in ["clusterd-controllers", "clusterd-scheduler"] {
        assert_eq!(
            a.lease_holder_pid(lease),
            Some(b.pid()),
            "holder of {lease}"
        );
        assert!(!started(&a, lease), "the restarted A started {lease}");
    }
    // Stopped with SIGTERM, A deletes its lease and takes itself out of the endpoints at once
    // (an expiring lease would stay, and take at least 2/3 of its duration).
    let stopping = Instant::now();
    a.signal("-TERM");
    let left = wait_for("the stopping A to leave the endpoints", WAIT, || {
        (b.kubernetes_endpoints() == ip_b.to_string()).then(|| stopping.elapsed())
    });
    let a_lease = format!("apiserver-{ip_a}-{port}");
    let gone = b.try_kubectl(&["get", "lease", "-n", "kube-system", &a_lease]);
    assert!(
        gone.as_ref().is_err_and(|e| e.contains("NotFound")),
        "{a_lease}: {gone:?}"
    );
    a.wait_clean_exit();
    eprintln!(
        "takeover after kill -9: {takeover:?}; endpoints without A after {dropped:?} (kill -9), {left:?} (SIGTERM)"
    );
    drop(b);
    drop(etcd);
    drop(addresses);
}
