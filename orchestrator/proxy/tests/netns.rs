//! The proxy against real iptables in network namespaces, fed by a real in-process API server:
//! traffic from pod and "outside" namespaces through cluster IPs, node ports and load-balancer
//! IPs, endpoint changes, rejection, session affinity, externalTrafficPolicy, cleanup, and routes
//! between two nodes. Requires root; the host's own tables are never touched.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use std::path::Path;
use std::thread::JoinHandle;

use clusterd_proxy::ProxyConfig;
use common::{answers, eventually, iptables_state, sh, wget, Lab};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use support::TestServer;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(20);

/// The API side of a test: a server, a runtime and a client to drive it.
struct Cluster {
    server: TestServer,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
}

impl Cluster {
    fn start() -> Self {
        let server = TestServer::start();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let client = runtime.block_on(support::kube_client(&server.kubeconfig));
        Self {
            server,
            runtime,
            client,
        }
    }

    /// Creates a Service in `default` and returns it as stored (cluster IP, node ports allocated).
    fn service(&self, body: Value) -> Service {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let service: Service = serde_json::from_value(body).unwrap();
        self.runtime
            .block_on(api.create(&PostParams::default(), &service))
            .expect("create service")
    }

    fn patch_service(&self, name: &str, patch: Value) {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        self.runtime
            .block_on(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)))
            .expect("patch service");
    }

    fn patch_service_status(&self, name: &str, patch: Value) {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        self.runtime
            .block_on(api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)))
            .expect("patch service status");
    }

    /// Creates or replaces slice `<service>-1` with `endpoints` as (ip, node) on port `http` 80.
    fn slice(&self, service: &str, endpoints: &[(&str, &str)]) {
        self.slice_on(
            service,
            endpoints,
            json!({"name": "http", "port": 80, "protocol": "TCP"}),
        );
    }

    /// [`Cluster::slice`] with the slice's one port `port`.
    fn slice_on(&self, service: &str, endpoints: &[(&str, &str)], port: Value) {
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), "default");
        let endpoints: Vec<Value> = endpoints
            .iter()
            .map(|(ip, node)| json!({"addresses": [ip], "nodeName": node, "conditions": {"ready": true}}))
            .collect();
        let body = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{service}-1"), "namespace": "default", "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": [port]});
        self.runtime
            .block_on(api.patch(
                &format!("{service}-1"),
                &PatchParams::apply("proxy-test").force(),
                &Patch::Apply(&body),
            ))
            .expect("apply endpoint slice");
    }

    fn node(&self, name: &str, pod_cidr: &str, internal_ip: &str) {
        let api: Api<Node> = Api::all(self.client.clone());
        let node: Node = serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"podCIDR": pod_cidr}}),
        )
        .unwrap();
        self.runtime
            .block_on(api.create(&PostParams::default(), &node))
            .expect("create node");
        let status =
            json!({"status": {"addresses": [{"type": "InternalIP", "address": internal_ip}]}});
        self.runtime
            .block_on(api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)))
            .expect("node status");
    }

    fn delete_node(&self, name: &str) {
        let api: Api<Node> = Api::all(self.client.clone());
        self.runtime
            .block_on(api.delete(name, &DeleteParams::default()))
            .expect("delete node");
    }
}

fn web_service(name: &str, extra: Value) -> Value {
    let mut body = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}]}});
    if let Some(extra) = extra.as_object() {
        for (k, v) in extra {
            body["spec"][k] = v.clone();
        }
    }
    body
}

fn cluster_ip(service: &Service) -> String {
    service.spec.as_ref().unwrap().cluster_ip.clone().unwrap()
}

fn node_port(service: &Service) -> i32 {
    service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0]
        .node_port
        .expect("node port allocated")
}

/// Waits until `ns`'s nat table mentions `needle`.
fn wait_rules(ns: &str, needle: &str) {
    eventually(WAIT, &format!("rules with {needle}"), || {
        iptables_state(ns).contains(needle).then_some(())
    });
}

#[test]
fn cluster_ip_balances_follows_endpoints_rejects_and_sticks() {
    require_root_netns!();
    let cluster = Cluster::start();
    let mut lab = Lab::new("ci");
    let node = lab.node("node", "10.244.1");
    lab.uplink(&node);
    let p1 = lab.pod(&node, "p1", "10.244.1.2");
    lab.pod(&node, "p2", "10.244.1.3");
    let client = lab.pod(&node, "cl", "10.244.1.4");
    let before = iptables_state(&node);
    let web = cluster.service(web_service("web", json!({})));
    cluster.slice("web", &[("10.244.1.2", "node-a"), ("10.244.1.3", "node-a")]);
    let empty = cluster.service(web_service("empty", json!({})));
    let solo = cluster.service(web_service("solo", json!({})));
    cluster.slice("solo", &[("10.244.1.2", "node-a")]);
    let proxy = Proxy::start(&cluster.server.kubeconfig, "node-a", &node);

    // Load balancing: both endpoints answer within 20 requests, through a FORWARD policy of DROP.
    let url = format!("http://{}/", cluster_ip(&web));
    wait_rules(&node, "10.244.1.3:80");
    let seen: BTreeSet<String> = answers(&client, &url, 20).into_iter().collect();
    assert_eq!(seen, BTreeSet::from(["p1".to_owned(), "p2".to_owned()]));
    // Hairpin: an endpoint reaching itself through its Service, masqueraded so the reply
    // comes back through the node.
    wait_rules(&node, "default/solo:http cluster IP\" -j CLUSTERD-SVC-");
    assert_eq!(
        answers(&p1, &format!("http://{}/cgi-bin/ip", cluster_ip(&solo)), 3),
        ["p1 10.244.1.1", "p1 10.244.1.1", "p1 10.244.1.1"]
    );

    // A jump removed behind the proxy's back is back after the next full resync (5 s here).
    #[rustfmt::skip]
    let jump = ["ip", "netns", "exec", node.as_str(), "iptables", "-t", "nat", "-D", "PREROUTING",
        "-m", "comment", "--comment", "clusterd service portals", "-j", "CLUSTERD-SERVICES"];
    sh(&jump);
    assert!(!iptables_state(&node)
        .contains("-A PREROUTING -m comment --comment \"clusterd service portals\""));
    wait_rules(
        &node,
        "-A PREROUTING -m comment --comment \"clusterd service portals\"",
    );
    assert!(wget(&client, &url).is_ok());

    // No endpoints: refused at once instead of hanging.
    let empty_url = format!("http://{}/", cluster_ip(&empty));
    wait_rules(&node, "default/empty:http has no endpoints");
    let started = Instant::now();
    let error = wget(&client, &empty_url).unwrap_err();
    assert!(error.contains("refused"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    // Endpoint removal is followed.
    cluster.slice("web", &[("10.244.1.3", "node-a")]);
    eventually(WAIT, "only p2 to answer", || {
        answers(&client, &url, 6)
            .iter()
            .all(|a| a == "p2")
            .then_some(())
    });
    // Endpoints appearing for the empty Service are followed too.
    cluster.slice("empty", &[("10.244.1.2", "node-a")]);
    eventually(WAIT, "the empty service to answer", || {
        wget(&client, &empty_url).ok().filter(|a| a.trim() == "p1")
    });

    // Session affinity: one client sticks to one endpoint.
    cluster.slice("web", &[("10.244.1.2", "node-a"), ("10.244.1.3", "node-a")]);
    cluster.patch_service("web", json!({"spec": {"sessionAffinity": "ClientIP"}}));
    wait_rules(&node, "--rcheck --seconds 10800");
    let sticky = answers(&client, &url, 15);
    assert!(sticky.iter().all(|a| a == &sticky[0]), "{sticky:?}");
    assert!(sticky[0] == "p1" || sticky[0] == "p2", "{sticky:?}");

    // Cleanup leaves the node's tables as they were, foreign rules included.
    proxy.stop().unwrap();
    cluster
        .runtime
        .block_on(clusterd_proxy::cleanup(
            ["ip", "netns", "exec", node.as_str()]
                .map(String::from)
                .to_vec(),
        ))
        .unwrap();
    assert_eq!(
        iptables_state(&node).replace("*nat\nCOMMIT\n", ""),
        before.replace("*nat\nCOMMIT\n", "")
    );
}

#[test]
fn node_port_and_load_balancer_reach_pods_from_outside() {
    require_root_netns!();
    let cluster = Cluster::start();
    let mut lab = Lab::new("np");
    let node = lab.node("node", "10.244.1");
    let outside = lab.netns("out");
    lab.link(
        &node,
        &outside,
        "lan0",
        "192.168.77.1/24",
        "192.168.77.2/24",
    );
    sh(&[
        "ip",
        "-n",
        &node,
        "route",
        "add",
        "default",
        "via",
        "192.168.77.2",
    ]);
    lab.pod(&node, "p1", "10.244.1.2");
    lab.pod(&node, "p2", "10.244.1.3");

    // p2 is declared on another node: with externalTrafficPolicy Local only p1 may answer.
    let nodeport = cluster.service(web_service("np", json!({"type": "NodePort"})));
    cluster.slice("np", &[("10.244.1.2", "node-a"), ("10.244.1.3", "node-b")]);
    let local = cluster.service(web_service(
        "local",
        json!({"type": "NodePort", "externalTrafficPolicy": "Local"}),
    ));
    cluster.slice(
        "local",
        &[("10.244.1.2", "node-a"), ("10.244.1.3", "node-b")],
    );
    let lb = cluster.service(web_service("lb", json!({"type": "LoadBalancer", "ports": [{"name": "http", "port": 8080, "targetPort": 80}]})));
    cluster.slice("lb", &[("10.244.1.3", "node-b")]);
    cluster.patch_service_status(
        "lb",
        json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.168.77.1"}]}}}),
    );
    let dns = cluster.service(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "dns", "annotations": {"clusterd.io/node-local": "true"}},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 80}]}}));
    cluster.slice("dns", &[("10.244.1.2", "node-a")]);
    let _proxy = Proxy::start(&cluster.server.kubeconfig, "node-a", &node);

    // NodePort (Cluster policy): both pods, the client masqueraded to the node's bridge address.
    let url = format!("http://192.168.77.1:{}/cgi-bin/ip", node_port(&nodeport));
    wait_rules(
        &node,
        &format!(
            "-A CLUSTERD-NODEPORTS -p tcp -m tcp --dport {}",
            node_port(&nodeport)
        ),
    );
    let all = answers(&outside, &url, 20);
    let seen: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(
        seen,
        BTreeSet::from(["p1 10.244.1.1".to_owned(), "p2 10.244.1.1".to_owned()]),
        "{all:?}\n{}",
        iptables_state(&node)
    );

    // externalTrafficPolicy Local: only the local pod, and it sees the real client address.
    let url = format!("http://192.168.77.1:{}/cgi-bin/ip", node_port(&local));
    wait_rules(
        &node,
        &format!(
            "-A CLUSTERD-NODEPORTS -p tcp -m tcp --dport {}",
            node_port(&local)
        ),
    );
    let seen: BTreeSet<String> = answers(&outside, &url, 10).into_iter().collect();
    assert_eq!(seen, BTreeSet::from(["p1 192.168.77.2".to_owned()]));

    // LoadBalancer: the ingress IP (the node's) on the service port.
    wait_rules(&node, "192.168.77.1/32 -p tcp -m tcp --dport 8080");
    assert_eq!(
        wget(&outside, "http://192.168.77.1:8080/").map(|a| a.trim().to_owned()),
        Ok("p2".to_owned())
    );
    // The node-local Service is left alone.
    let rules = iptables_state(&node);
    assert!(rules.contains(&cluster_ip(&lb)), "{rules}");
    assert!(
        !rules.contains(&format!("{}/32", cluster_ip(&dns))),
        "{rules}"
    );
    assert!(!rules.contains("default/dns"), "{rules}");
}

#[test]
fn udp_flows_to_a_removed_endpoint_are_deleted() {
    require_root_netns!();
    if !std::path::Path::new("/usr/sbin/conntrack").exists() {
        eprintln!("SKIPPED: /usr/sbin/conntrack is absent (apt-get install conntrack)");
        return;
    }
    let cluster = Cluster::start();
    let mut lab = Lab::new("ud");
    let node = lab.node("node", "10.244.1");
    lab.uplink(&node);
    lab.pod(&node, "p1", "10.244.1.2");
    lab.pod(&node, "p2", "10.244.1.3");
    let client = lab.pod(&node, "cl", "10.244.1.4");
    let port = json!({"name": "u", "port": 9999, "protocol": "UDP"});
    let udp = cluster.service(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "udp"},
        "spec": {"ports": [{"name": "u", "port": 9999, "targetPort": 9999, "protocol": "UDP"}]}}),
    );
    cluster.slice_on("udp", &[("10.244.1.2", "node-a")], port.clone());
    let _proxy = Proxy::start(&cluster.server.kubeconfig, "node-a", &node);
    wait_rules(&node, "--to-destination 10.244.1.2:9999");

    let ip = cluster_ip(&udp);
    let send = || {
        sh(&[
            "ip",
            "netns",
            "exec",
            &client,
            "bash",
            "-c",
            &format!("echo x > /dev/udp/{ip}/9999"),
        ]);
    };
    let flows = || {
        let output = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &node,
                "conntrack",
                "-L",
                "-p",
                "udp",
                "--orig-dst",
                &ip,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    send();
    assert!(
        flows().contains("src=10.244.1.2 dst=10.244.1.4"),
        "{}",
        flows()
    );

    // The endpoint goes: its flow goes with it (conntrack would keep it for 30 s otherwise).
    cluster.slice_on("udp", &[("10.244.1.3", "node-a")], port);
    wait_rules(&node, "--to-destination 10.244.1.3:9999");
    eventually(Duration::from_secs(5), "the stale flow to go", || {
        (!flows().contains("src=10.244.1.2")).then_some(())
    });
    send();
    assert!(
        flows().contains("src=10.244.1.3 dst=10.244.1.4"),
        "{}",
        flows()
    );
}

#[test]
fn pods_on_two_nodes_reach_each_other_without_nat() {
    require_root_netns!();
    let cluster = Cluster::start();
    let mut lab = Lab::new("rt");
    let a = lab.node("a", "10.244.1");
    let b = lab.node("b", "10.244.2");
    lab.link(&a, &b, "lan0", "192.168.78.1/24", "192.168.78.2/24");
    let pa = lab.pod(&a, "pa", "10.244.1.2");
    let pb = lab.pod(&b, "pb", "10.244.2.2");
    cluster.node("node-a", "10.244.1.0/24", "192.168.78.1");
    cluster.node("node-b", "10.244.2.0/24", "192.168.78.2");
    cluster.node("node-far", "10.244.9.0/24", "172.30.0.9");
    let _proxy_a = Proxy::start(&cluster.server.kubeconfig, "node-a", &a);
    let _proxy_b = Proxy::start(&cluster.server.kubeconfig, "node-b", &b);

    let routes = |ns: &str| sh(&["ip", "-n", ns, "-4", "route", "show", "proto", "212"]);
    eventually(WAIT, "routes on both nodes", || {
        (routes(&a).contains("10.244.2.0/24 via 192.168.78.2")
            && routes(&b).contains("10.244.1.0/24 via 192.168.78.1"))
        .then_some(())
    });
    assert!(
        !routes(&a).contains("10.244.9.0"),
        "no route through an unconnected node"
    );
    // Each pod sees the other's own address: no NAT on the way, despite the CNI masquerade rule.
    assert_eq!(
        wget(&pa, "http://10.244.2.2/cgi-bin/ip").map(|a| a.trim().to_owned()),
        Ok("pb 10.244.1.2".to_owned())
    );
    assert_eq!(
        wget(&pb, "http://10.244.1.2/cgi-bin/ip").map(|a| a.trim().to_owned()),
        Ok("pa 10.244.2.2".to_owned())
    );

    // A Service on node B reached from a pod on node A: DNAT only, the pod's address intact.
    let across = cluster.service(web_service("across", json!({})));
    cluster.slice("across", &[("10.244.2.2", "node-b")]);
    wait_rules(&a, "--to-destination 10.244.2.2:80");
    assert_eq!(
        wget(&pa, &format!("http://{}/cgi-bin/ip", cluster_ip(&across)))
            .map(|a| a.trim().to_owned()),
        Ok("pb 10.244.1.2".to_owned())
    );

    // A departed node's route goes; other routes stay.
    sh(&[
        "ip",
        "-n",
        &a,
        "route",
        "add",
        "10.244.50.0/24",
        "via",
        "192.168.78.2",
    ]);
    cluster.delete_node("node-b");
    eventually(WAIT, "the route to node-b to go", || {
        (!routes(&a).contains("10.244.2.0/24")).then_some(())
    });
    let all = sh(&["ip", "-n", &a, "-4", "route", "show"]);
    assert!(all.contains("10.244.50.0/24 via 192.168.78.2"), "{all}");
}

/// The proxy of one node, running on its own runtime thread until dropped.
#[derive(Debug)]
pub struct Proxy {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<clusterd_proxy::Result<()>>>,
}

impl Proxy {
    /// Starts the proxy for `node_name` in namespace `node_ns`, as a client of `kubeconfig`.
    pub fn start(kubeconfig: &Path, node_name: &str, node_ns: &str) -> Self {
        let mut config = ProxyConfig::new(node_name);
        config.command_prefix = ["ip", "netns", "exec", node_ns]
            .iter()
            .map(|s| s.to_string())
            .collect();
        config.sync_period = Duration::from_secs(5);
        let kubeconfig = kubeconfig.to_owned();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let client = support::kube_client(&kubeconfig).await;
                clusterd_proxy::run(client, config, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops it and returns how `run` ended.
    pub fn stop(mut self) -> clusterd_proxy::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> clusterd_proxy::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().expect("proxy thread"),
            None => Ok(()),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
