//! Hermetic "nodes" for the proxy's integration tests: network namespaces with a bridge of pod
//! namespaces running busybox httpd, an "outside" namespace, and the proxy running against an
//! in-process API server with its commands entering the node's namespace. Everything is removed
//! when the guards drop, also when a test fails.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why these tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not running as root (network namespaces and iptables need root)".into());
    }
    for tool in ["/usr/sbin/ip", "/usr/sbin/iptables-restore", "/bin/busybox"] {
        if !Path::new(tool).exists() {
            return Some(format!(
                "{tool} is absent (apt-get install iproute2 iptables busybox-static)"
            ));
        }
    }
    None
}

/// Skips the calling test with a message when it cannot run here.
#[macro_export]
macro_rules! require_root_netns {
    () => {
        if let Some(reason) = common::skip_reason() {
            eprintln!("SKIPPED: {reason}");
            return;
        }
    };
}

/// Runs a command; panics with its stderr when it fails. Returns stdout.
pub fn sh(args: &[&str]) -> String {
    let output = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "`{}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Polls `check` every 100 ms until it gives a value; panics after `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The network namespaces, processes and files of one test; all removed on drop.
pub struct Lab {
    tag: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// A lab whose namespaces are named after `tag` (short, unique per test) and the process.
    pub fn new(tag: &str) -> Self {
        Self {
            tag: format!("pxy{}-{tag}", std::process::id() % 100_000),
            namespaces: Vec::new(),
            children: Vec::new(),
            dir: tempfile::Builder::new()
                .prefix("clusterd-proxy-")
                .tempdir()
                .unwrap(),
        }
    }

    /// Creates namespace `<tag>-<role>` with loopback up; returns its name.
    pub fn netns(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.tag);
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        sh(&["ip", "netns", "add", &name]);
        self.namespaces.push(name.clone());
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        name
    }

    /// A node namespace with bridge `br0` holding `<prefix>.1/24` (pod CIDR `<prefix>.0/24`) and,
    /// to look like a Docker host, a DROP forward policy, a DOCKER-USER chain and the CNI bridge
    /// plugin's masquerade of pod traffic leaving the pod CIDR.
    pub fn node(&mut self, role: &str, prefix: &str) -> String {
        let node = self.netns(role);
        sh(&["ip", "-n", &node, "link", "add", "br0", "type", "bridge"]);
        sh(&[
            "ip",
            "-n",
            &node,
            "addr",
            "add",
            &format!("{prefix}.1/24"),
            "dev",
            "br0",
        ]);
        sh(&["ip", "-n", &node, "link", "set", "br0", "up"]);
        let rules = format!(
            "*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n\
             *nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n\
             -A POSTROUTING -s {prefix}.0/24 ! -d {prefix}.0/24 -j MASQUERADE\nCOMMIT\n"
        );
        let mut restore = Command::new("ip")
            .args(["netns", "exec", &node, "iptables-restore"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        restore
            .stdin
            .take()
            .unwrap()
            .write_all(rules.as_bytes())
            .unwrap();
        assert!(restore.wait().unwrap().success(), "foreign rules load");
        node
    }

    /// A pod namespace `role` on `node`'s bridge with IP `ip` (/24, gateway `<prefix>.1`),
    /// serving `/` (its name) and `/cgi-bin/ip` (its name and the client address it sees).
    pub fn pod(&mut self, node: &str, role: &str, ip: &str) -> String {
        let pod = self.netns(role);
        let index = self.namespaces.len();
        let host_side = format!("vp{index}");
        sh(&[
            "ip", "-n", node, "link", "add", &host_side, "type", "veth", "peer", "name", "eth0",
            "netns", &pod,
        ]);
        sh(&[
            "ip", "-n", node, "link", "set", &host_side, "master", "br0", "up",
        ]);
        // As the CNI bridge plugin's hairpinMode: a pod may reach itself through its Service.
        sh(&[
            "ip",
            "-n",
            node,
            "link",
            "set",
            &host_side,
            "type",
            "bridge_slave",
            "hairpin",
            "on",
        ]);
        sh(&[
            "ip",
            "-n",
            &pod,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", &pod, "link", "set", "eth0", "up"]);
        let gateway = format!("{}.1", ip.rsplit_once('.').unwrap().0);
        sh(&["ip", "-n", &pod, "route", "add", "default", "via", &gateway]);
        let root = self.dir.path().join(role);
        std::fs::create_dir_all(root.join("cgi-bin")).unwrap();
        std::fs::write(root.join("index.html"), format!("{role}\n")).unwrap();
        let script = root.join("cgi-bin/ip");
        std::fs::write(
            &script,
            // httpd listens on IPv6 too and reports IPv4 clients as [::ffff:a.b.c.d].
            format!(
                "#!/bin/sh\naddr=${{REMOTE_ADDR#\\[::ffff:}}\naddr=${{addr%\\]}}\nprintf 'Content-Type: text/plain\\r\\n\\r\\n{role} %s\\n' \"$addr\"\n"
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let child = Command::new("ip")
            .args([
                "netns", "exec", &pod, "busybox", "httpd", "-f", "-p", "80", "-h",
            ])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        let url = format!("http://{ip}/");
        eventually(Duration::from_secs(10), "httpd to listen", || {
            wget(&pod, &url).ok()
        });
        pod
    }

    /// Connects `a` and `b` with a veth pair `name` (same name on both sides) holding `ip_a`/`ip_b`
    /// (with prefix length).
    pub fn link(&mut self, a: &str, b: &str, name: &str, ip_a: &str, ip_b: &str) {
        sh(&[
            "ip", "-n", a, "link", "add", name, "type", "veth", "peer", "name", name, "netns", b,
        ]);
        for (ns, ip) in [(a, ip_a), (b, ip_b)] {
            sh(&["ip", "-n", ns, "addr", "add", ip, "dev", name]);
            sh(&["ip", "-n", ns, "link", "set", name, "up"]);
        }
    }
}

impl Lab {
    /// An "outside" namespace `out` linked to `node` (node 192.168.77.1/24, outside .2) and used
    /// as the node's default route, as a LAN with the way out would be.
    pub fn uplink(&mut self, node: &str) -> String {
        let outside = self.netns("out");
        self.link(node, &outside, "lan0", "192.168.77.1/24", "192.168.77.2/24");
        sh(&[
            "ip",
            "-n",
            node,
            "route",
            "add",
            "default",
            "via",
            "192.168.77.2",
        ]);
        outside
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// `busybox wget -qO- url` inside `ns` (at most 5 s; busybox-static's own `-T` crashes): the
/// body, or the error wget printed.
pub fn wget(ns: &str, url: &str) -> Result<String, String> {
    let output = Command::new("ip")
        .args([
            "netns", "exec", ns, "timeout", "5", "busybox", "wget", "-qO-", url,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The answers of `count` requests to `url` from `ns` (errors as `ERR: ...`).
pub fn answers(ns: &str, url: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| match wget(ns, url) {
            Ok(body) => body.trim().to_owned(),
            Err(error) => format!("ERR: {}", error.trim()),
        })
        .collect()
}

/// `iptables-save` of `ns` without comments and counters: what a test compares.
pub fn iptables_state(ns: &str) -> String {
    sh(&["ip", "netns", "exec", ns, "iptables-save"])
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| match l.find(" [") {
            Some(at) if l.starts_with(':') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
