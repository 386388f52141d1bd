//! The node side against the real kernel: the dummy interface set up inside a network namespace,
//! and a busybox `nslookup` from a namespace (a stand-in for a pod) answered by our server over
//! a veth pair. Needs root and `ip`; skipped with a message otherwise.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

use clusterd_dns::{remove_interface, setup_interface, CLUSTER_DNS_IP, INTERFACE};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::{kube_client, TestServer};

/// Runs a command, returning (success, stdout + stderr).
fn run(words: &[&str]) -> (bool, String) {
    match Command::new(words[0]).args(&words[1..]).output() {
        Ok(output) => (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ),
        Err(error) => (false, error.to_string()),
    }
}

/// A network namespace deleted (with its links) when dropped.
struct Netns {
    name: String,
    host_link: Option<String>,
}

impl Netns {
    /// Creates `dns-<test>-<pid>`, or prints why the test is skipped.
    fn create(test: &str) -> Option<Netns> {
        let name = format!("dns-{test}-{}", std::process::id());
        let (ok, output) = run(&["ip", "netns", "add", &name]);
        if !ok {
            eprintln!("SKIPPED: cannot create network namespace {name} (needs root and iproute2): {output}");
            return None;
        }
        Some(Netns {
            name,
            host_link: None,
        })
    }

    fn prefix(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.name]
            .iter()
            .map(|w| w.to_string())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(link) = &self.host_link {
            let _ = run(&["ip", "link", "del", link]);
        }
        let _ = run(&["ip", "netns", "del", &self.name]);
    }
}

#[test]
fn the_dns_interface_is_set_up_idempotently_inside_a_namespace() {
    let Some(ns) = Netns::create("if") else {
        return;
    };
    let prefix = ns.prefix();
    let addresses = [IpAddr::V4(CLUSTER_DNS_IP)];
    let device = setup_interface(&prefix, INTERFACE, &addresses).expect("set up the interface");
    let again = setup_interface(&prefix, INTERFACE, &addresses).expect("set it up again");
    assert_eq!(device, again);
    assert!(
        device == INTERFACE || device == "lo",
        "unexpected device {device}"
    );
    if device == "lo" {
        eprintln!("this kernel has no dummy links: the address went on lo");
    } else {
        let (_, details) = run(&["ip", "-n", &ns.name, "-d", "link", "show", INTERFACE]);
        assert!(details.contains("dummy"), "{details}");
    }
    let (ok, shown) = run(&["ip", "-n", &ns.name, "addr", "show", "dev", &device]);
    assert!(ok, "ip addr show: {shown}");
    assert_eq!(
        shown.matches("inet 10.96.0.10/32").count(),
        1,
        "address missing or twice: {shown}"
    );
    assert!(shown.contains(",UP"), "link not up: {shown}");
    // The address is delivered locally inside the namespace.
    let (ok, route) = run(&["ip", "-n", &ns.name, "route", "get", "10.96.0.10"]);
    assert!(ok && route.starts_with("local 10.96.0.10"), "{route}");

    remove_interface(&prefix, INTERFACE, &addresses).expect("remove");
    let (_, link) = run(&["ip", "-n", &ns.name, "link", "show", INTERFACE]);
    assert!(
        link.contains("does not exist"),
        "interface still present: {link}"
    );
    let (_, lo) = run(&["ip", "-n", &ns.name, "addr", "show", "dev", "lo"]);
    assert!(!lo.contains("10.96.0.10"), "address still on lo: {lo}");
    remove_interface(&prefix, INTERFACE, &addresses).expect("removing twice is fine");
}

#[test]
fn a_failing_ip_command_names_the_command() {
    let error = setup_interface(
        &[
            "ip".into(),
            "netns".into(),
            "exec".into(),
            "dns-no-such-namespace".into(),
        ],
        INTERFACE,
        &[IpAddr::V4(CLUSTER_DNS_IP)],
    )
    .expect_err("no such namespace");
    let text = error.to_string();
    assert!(
        text.starts_with(
            "ip netns exec dns-no-such-namespace ip link add clusterd-dns0 type dummy"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_nslookup_in_a_namespace_resolves_a_service() {
    let Some(mut ns) = Netns::create("nsl") else {
        return;
    };
    if !std::path::Path::new("/usr/bin/busybox").exists() {
        eprintln!("SKIPPED: /usr/bin/busybox is not installed");
        return;
    }
    let id = std::process::id();
    let host_link = format!("dnsh{}", id % 100_000);
    let ns_link = format!("dnsn{}", id % 100_000);
    let subnet = (id % 250) as u8;
    let host_ip = Ipv4Addr::new(10, 250, subnet, 1);
    let ns_ip = Ipv4Addr::new(10, 250, subnet, 2);
    for words in [
        vec![
            "ip", "link", "add", &host_link, "type", "veth", "peer", "name", &ns_link,
        ],
        vec!["ip", "link", "set", &ns_link, "netns", &ns.name],
    ] {
        let (ok, out) = run(&words);
        assert!(ok, "{}: {out}", words.join(" "));
    }
    ns.host_link = Some(host_link.clone());
    let host_cidr = format!("{host_ip}/30");
    let ns_cidr = format!("{ns_ip}/30");
    for words in [
        vec!["ip", "addr", "add", &host_cidr, "dev", &host_link],
        vec!["ip", "link", "set", &host_link, "up"],
        vec![
            "ip", "-n", &ns.name, "addr", "add", &ns_cidr, "dev", &ns_link,
        ],
        vec!["ip", "-n", &ns.name, "link", "set", &ns_link, "up"],
        vec!["ip", "-n", &ns.name, "link", "set", "lo", "up"],
    ] {
        let (ok, out) = run(&words);
        assert!(ok, "{}: {out}", words.join(" "));
    }

    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let web = services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
            .unwrap(),
        )
        .await
        .expect("create service");
    let web_ip = web.spec.unwrap().cluster_ip.unwrap();
    let listen = SocketAddr::new(IpAddr::V4(host_ip), 53);
    let _stop = common::start_dns(client.clone(), common::config(listen, vec![]));
    common::wait_listening(listen).await;
    common::wait_answer(
        listen,
        "web.default.svc.cluster.local.",
        hickory_proto::rr::RecordType::A,
        std::time::Duration::from_secs(10),
        |m| !m.answers().is_empty(),
    )
    .await;

    let server_ip = host_ip.to_string();
    let name = ns.name.clone();
    let (ok, output) = tokio::task::spawn_blocking(move || {
        run(&[
            "ip",
            "netns",
            "exec",
            &name,
            "busybox",
            "nslookup",
            "web.default.svc.cluster.local",
            &server_ip,
        ])
    })
    .await
    .unwrap();
    assert!(ok, "busybox nslookup failed: {output}");
    assert!(
        output.contains(&web_ip),
        "nslookup did not show {web_ip}: {output}"
    );
    let name = ns.name.clone();
    let server_ip = host_ip.to_string();
    let (ok, output) = tokio::task::spawn_blocking(move || {
        run(&[
            "ip",
            "netns",
            "exec",
            &name,
            "busybox",
            "nslookup",
            "nope.default.svc.cluster.local",
            &server_ip,
        ])
    })
    .await
    .unwrap();
    assert!(!ok, "a missing name resolved: {output}");
    assert!(output.contains("NXDOMAIN"), "{output}");
}

/// Binds the server's sockets inside the namespace `ns` (from a thread that enters it), as the
/// agent does in the node's namespace.
fn bind_in(ns: &str, addr: SocketAddr) -> clusterd_dns::Listeners {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open the namespace");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("enter the namespace");
        clusterd_dns::Listeners::bind(&[addr]).expect("bind in the namespace")
    })
    .join()
    .expect("bind thread")
}

/// `/etc/netns/<ns>/resolv.conf`, which `ip netns exec` shows the namespace as /etc/resolv.conf;
/// removed when dropped.
struct NetnsResolvConf(std::path::PathBuf);

impl Drop for NetnsResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The production path: a "pod" namespace whose resolv.conf is the one pods get asks
/// 10.96.0.10 by short name; its packets are routed to the "node" namespace, where the
/// cluster DNS address sits on the node-local interface and our server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_resolves_a_service_by_short_name_through_the_node_local_address() {
    let Some(node) = Netns::create("node") else {
        return;
    };
    let Some(pod) = Netns::create("pod") else {
        return;
    };
    let id = std::process::id() % 100_000;
    let node_link = format!("dnsN{id}");
    let pod_link = format!("dnsP{id}");
    let subnet = (id % 250) as u8;
    let node_cidr = format!("10.252.{subnet}.1/24");
    let pod_cidr = format!("10.252.{subnet}.2/24");
    let gateway = format!("10.252.{subnet}.1");
    for words in [
        vec![
            "ip", "-n", &node.name, "link", "add", &node_link, "type", "veth", "peer", "name",
            &pod_link, "netns", &pod.name,
        ],
        vec![
            "ip", "-n", &node.name, "addr", "add", &node_cidr, "dev", &node_link,
        ],
        vec!["ip", "-n", &node.name, "link", "set", &node_link, "up"],
        vec!["ip", "-n", &node.name, "link", "set", "lo", "up"],
        vec![
            "ip", "-n", &pod.name, "addr", "add", &pod_cidr, "dev", &pod_link,
        ],
        vec!["ip", "-n", &pod.name, "link", "set", &pod_link, "up"],
        vec!["ip", "-n", &pod.name, "link", "set", "lo", "up"],
        vec![
            "ip", "-n", &pod.name, "route", "add", "default", "via", &gateway,
        ],
    ] {
        let (ok, out) = run(&words);
        assert!(ok, "{}: {out}", words.join(" "));
    }
    let device = setup_interface(&node.prefix(), INTERFACE, &[IpAddr::V4(CLUSTER_DNS_IP)])
        .expect("node-local interface");
    eprintln!("cluster DNS address on {device} in {}", node.name);
    let resolv_dir = std::path::PathBuf::from(format!("/etc/netns/{}", pod.name));
    std::fs::create_dir_all(&resolv_dir).expect("create /etc/netns dir");
    let _resolv = NetnsResolvConf(resolv_dir.clone());
    std::fs::write(
        resolv_dir.join("resolv.conf"),
        clusterd_dns::pod_resolv_conf("default", IpAddr::V4(CLUSTER_DNS_IP), "cluster.local"),
    )
    .expect("write the pod's resolv.conf");

    let server = TestServer::start();
    let client = kube_client(&server.kubeconfig).await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let web = services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
            .unwrap(),
        )
        .await
        .expect("create service");
    let web_ip = web.spec.unwrap().cluster_ip.unwrap();
    let listeners = bind_in(&node.name, SocketAddr::new(IpAddr::V4(CLUSTER_DNS_IP), 53));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = common::config(SocketAddr::new(IpAddr::V4(CLUSTER_DNS_IP), 53), vec![]);
    let serving = tokio::spawn(clusterd_dns::serve(
        client.clone(),
        config,
        listeners,
        async {
            let _ = stopped.await;
        },
    ));

    let pod_name = pod.name.clone();
    let lookup = move |name: &'static str| {
        let pod_name = pod_name.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                // No server argument: busybox reads the pod's resolv.conf (nameserver, search).
                run(&[
                    "ip", "netns", "exec", &pod_name, "busybox", "nslookup", name,
                ])
            })
            .await
            .unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let output = loop {
        // busybox asks every search domain and exits 1 when any of them is NXDOMAIN, so the
        // answer is judged by its output.
        let (_, output) = lookup("web").await;
        if output.contains(&format!("Address: {web_ip}")) {
            break output;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pod never resolved web to {web_ip}: {output}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        output.contains("Name:\tweb.default.svc.cluster.local"),
        "{output}"
    );
    let (_, output) = lookup("kubernetes").await;
    assert!(
        output.contains("Name:\tkubernetes.default.svc.cluster.local")
            && output.contains("Address: 10.96.0.1\n"),
        "{output}"
    );
    let (ok, output) = lookup("nope").await;
    assert!(
        !ok && !output.contains("Name:") && output.contains("NXDOMAIN"),
        "a missing short name resolved: {output}"
    );

    let _ = stop.send(());
    serving.await.unwrap().expect("server stopped cleanly");
}
