//! Random and malformed bodies against every resource endpoint, through kube-rs's raw request API:
//! every answer is a `Status` with a 4xx code (or a success for a body that happens to be valid),
//! never a 5xx, a crash or a hang.

mod support;

use std::time::Duration;

use clusterd_apimachinery::registry::Registry;
use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use rand::{Rng, SeedableRng};
use support::TestServer;

/// Bodies that trip parsers: random bytes, truncated and mistyped JSON, deep nesting, protobuf magic.
fn bodies(rng: &mut rand::rngs::StdRng) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[1,2,3]".to_vec(),
        b"\"text\"".to_vec(),
        br#"{"metadata": 5}"#.to_vec(),
        br#"{"metadata": {"name": ["x"]}, "spec": "nope"}"#.to_vec(),
        br#"{"apiVersion": 1, "kind": {"a": 1}}"#.to_vec(),
        br#"[{"op": "explode", "path": "/x"}]"#.to_vec(),
        br#"[{"op": "replace", "path": "", "value": 5}]"#.to_vec(),
        br#"[{"op": "replace", "path": "/spec", "value": "flat"}]"#.to_vec(),
        br#"{"spec": "flat", "status": 3}"#.to_vec(),
        br#"{"spec": {"ports": [1, "x", null]}, "metadata": {"name": "fuzzed"}}"#.to_vec(),
        br#"{"metadata": {"name": "../../etc", "namespace": "other"}}"#.to_vec(),
        b"k8s\0\x0a\x05\x0a\x01v".to_vec(),
        "[".repeat(100_000).into_bytes(),
        format!("{{\"metadata\":{{\"name\":\"{}\"}}}}", "a".repeat(300)).into_bytes(),
    ];
    for _ in 0..4 {
        let len = rng.gen_range(1..512);
        out.push((0..len).map(|_| rng.gen::<u8>()).collect());
    }
    out
}

#[test]
fn random_bodies_on_every_endpoint_get_status_errors() {
    let server = TestServer::start();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let kubeconfig = Kubeconfig::read_from(&server.kubeconfig).unwrap();
            let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .unwrap();
            let client = Client::try_from(config).unwrap();
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        // Live objects for the patches and updates to land on.
        for (path, object) in [
            ("/api/v1/namespaces/default/configmaps", r#"{"metadata":{"name":"fuzzed"},"data":{"a":"b"}}"#),
            ("/api/v1/namespaces/default/services", r#"{"metadata":{"name":"fuzzed"},"spec":{"type":"NodePort","ports":[{"port":80}],"selector":{"app":"x"}}}"#),
            ("/api/v1/namespaces/default/pods", r#"{"metadata":{"name":"fuzzed"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#),
            ("/apis/apps/v1/namespaces/default/deployments", r#"{"metadata":{"name":"fuzzed"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#),
        ] {
            let request = http::Request::post(path)
                .header("content-type", "application/json")
                .body(kube::client::Body::from(object.as_bytes().to_vec()))
                .unwrap();
            let response = client.send(request).await.unwrap();
            assert_eq!(response.status(), 201, "seed {path}");
        }
            let content_types = [
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
                "application/merge-patch+json",
                "application/json-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
                "text/plain",
            ];
            let mut requests = 0;
            for resource in Registry::builtin().resources() {
                let base = if resource.group.is_empty() {
                    format!("/api/{}", resource.version)
                } else {
                    format!("/apis/{}/{}", resource.group, resource.version)
                };
                let collection = if resource.namespaced() {
                    format!("{base}/namespaces/default/{}", resource.resource)
                } else {
                    format!("{base}/{}", resource.resource)
                };
                let item = format!("{collection}/fuzzed");
                // Writes first (against the seeded objects where there are some), deletes last.
                let writes = [("POST", &collection), ("PUT", &item), ("PATCH", &item)];
                let deletes = [("DELETE", &item), ("DELETE", &collection)];
                let mut plan = Vec::new();
                for body in bodies(&mut rng) {
                    let content_type = content_types[rng.gen_range(0..content_types.len())];
                    plan.extend(writes.iter().map(|(m, u)| (*m, (*u).clone(), body.clone(), content_type)));
                }
                for body in bodies(&mut rng) {
                    plan.extend(deletes.iter().map(|(m, u)| (*m, (*u).clone(), body.clone(), "application/json")));
                }
                for (method, uri, body, content_type) in plan {
                    let uri = &uri;
                    let request = http::Request::builder()
                        .method(method)
                        .uri(format!("{uri}?fieldManager=fuzz"))
                        .header("content-type", content_type)
                        .body(body.clone())
                        .unwrap();
                    let response = tokio::time::timeout(
                        Duration::from_secs(10),
                        client.send(request.map(kube::client::Body::from)),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{method} {uri} hung"))
                    .unwrap_or_else(|e| panic!("{method} {uri}: {e}"));
                    let code = response.status().as_u16();
                    let bytes = response.into_body().collect().await.unwrap().to_bytes();
                    assert!(
                        code < 500,
                        "{method} {uri} ({content_type}) gave {code}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                    if code >= 400 {
                        let status: serde_json::Value = serde_json::from_slice(&bytes)
                            .unwrap_or_else(|_| {
                                panic!(
                                    "{method} {uri} gave a non-JSON {code}: {}",
                                    String::from_utf8_lossy(&bytes)
                                )
                            });
                        assert_eq!(status["kind"], "Status", "{status}");
                        assert_eq!(status["code"], code, "{status}");
                    }
                    requests += 1;
                }
            }
            assert!(requests > 1000, "only {requests} requests were sent");
            let health = client
                .send(
                    http::Request::get("/healthz")
                        .body(kube::client::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(health.status(), 200, "the server still answers");
        });
}
