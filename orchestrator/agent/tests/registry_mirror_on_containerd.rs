//! Registry mirrors with the REAL containerd: the agent's mirror writer configures
//! `example.test=http://127.0.0.1:<port>` in the hosts directory the test's containerd reads
//! (`config_path`), and a CRI pull of `example.test/app:latest` reaches the recording HTTP server
//! on loopback (it answers 404, so the pull fails, and nothing leaves the machine).
//! Skipped, with the reason printed, when not root or containerd is missing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clusterd_agent::registry_mirrors::{write_registry_mirrors, RegistryMirror};
use clusterd_cri::{Containerd, ContainerdConfig, Runtime};

fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (containerd needs root)".into());
    }
    for tool in ["/usr/bin/containerd", "/usr/sbin/runc"] {
        if !Path::new(tool).exists() {
            return Some(format!(
                "{tool} is absent (apt-get install containerd runc)"
            ));
        }
    }
    None
}

/// An HTTP server on 127.0.0.1 that records each request line and answers 404 to all.
fn recording_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    // Skip the headers (no request here has a body).
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" || header == "\n" {
                            break;
                        }
                    }
                    record
                        .lock()
                        .unwrap()
                        .push(request_line.trim_end().to_owned());
                    let body =
                        "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"not here\"}]}";
                    let response = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containerd_pulls_through_the_configured_mirror() {
    if let Some(reason) = skip_reason() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let (port, seen) = recording_server();
    let dir = tempfile::Builder::new()
        .prefix("clusterd-mirror-")
        .tempdir()
        .unwrap();
    let config = ContainerdConfig::under(dir.path(), "clusterd.local/pause:unused");
    assert!(
        config.render().contains(&format!(
            "config_path = \"{}\"",
            config.registry_config_dir.display()
        )),
        "the test's containerd reads the hosts directory the test writes"
    );
    let mirror = RegistryMirror::parse(&format!("example.test=http://127.0.0.1:{port}")).unwrap();
    let written = write_registry_mirrors(&config.registry_config_dir, &[mirror]).unwrap();
    assert_eq!(
        written,
        vec![config.registry_config_dir.join("example.test/hosts.toml")]
    );

    let containerd = Containerd::ensure(&config).await.unwrap();
    assert!(
        containerd.pid().is_some(),
        "the test started its own containerd"
    );
    let result = containerd
        .runtime()
        .pull_image("example.test/app:latest", None)
        .await;
    let requests = seen.lock().unwrap().clone();
    containerd.shutdown().await.unwrap();

    eprintln!("the mirror saw {requests:?}");
    let error = result.expect_err("the mirror answers 404, so the pull must fail");
    assert!(
        requests
            .iter()
            .any(|line| line.contains("/v2/app/manifests/latest")),
        "containerd did not ask the mirror for the manifest; it saw {requests:?} (pull error: {error})"
    );
}
