use super::*;

/// A length-delimited field.
fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = varint((number << 3) | 2);
    out.extend(varint(bytes.len() as u64));
    out.extend_from_slice(bytes);
    out
}

fn int_field(number: u64, value: u64) -> Vec<u8> {
    let mut out = varint(number << 3);
    out.extend(varint(value));
    out
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = field(1, api_version.as_bytes());
    type_meta.extend(field(2, kind.as_bytes()));
    let mut unknown = field(1, &type_meta);
    unknown.extend(field(2, raw));
    unknown.extend(field(3, b""));
    unknown.extend(field(4, b""));
    let mut out = MAGIC.to_vec();
    out.extend(unknown);
    out
}

fn object_meta(name: &str) -> Vec<u8> {
    let mut meta = field(1, name.as_bytes());
    meta.extend(field(2, b""));
    meta.extend(int_field(7, 0));
    meta.extend(field(8, b""));
    let mut label = field(1, b"app");
    label.extend(field(2, b"web"));
    meta.extend(field(11, &label));
    meta
}

#[test]
fn a_namespace_decodes_without_go_zero_values() {
    let mut raw = field(1, &object_meta("demo"));
    raw.extend(field(2, b""));
    raw.extend(field(3, b""));
    let object = decode(&envelope("v1", "Namespace", &raw)).unwrap();
    assert_eq!(
        object,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "demo", "labels": {"app": "web"}, "creationTimestamp": null},
            "spec": {},
            "status": {}
        })
        .as_object()
        .map(|m| {
            let mut m = m.clone();
            m["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("creationTimestamp");
            Value::Object(m)
        })
        .unwrap()
    );
}

#[test]
fn secret_bytes_become_base64_and_int_or_string_unwraps() {
    let mut entry = field(1, b"password");
    entry.extend(field(2, b"s3cr3t"));
    let mut raw = field(1, &object_meta("creds"));
    raw.extend(field(2, &entry));
    raw.extend(field(3, b"Opaque"));
    let secret = decode(&envelope("v1", "Secret", &raw)).unwrap();
    assert_eq!(secret["data"]["password"], "czNjcjN0");
    assert_eq!(secret["type"], "Opaque");

    let mut port = int_field(1, 0);
    port.extend(int_field(2, 8080));
    let mut service_port = int_field(3, 80);
    service_port.extend(field(4, &port));
    let mut spec = field(1, &service_port);
    spec.extend(field(4, b"ClusterIP"));
    let mut raw = field(1, &object_meta("web"));
    raw.extend(field(2, &spec));
    let service = decode(&envelope("v1", "Service", &raw)).unwrap();
    assert_eq!(
        service["spec"]["ports"][0],
        serde_json::json!({"port": 80, "targetPort": 8080})
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(decode(b"not protobuf").is_err());
    assert!(decode(b"k8s\0\x0a\xff\xff").is_err());
    let mut truncated = MAGIC.to_vec();
    truncated.extend([0x12, 0x50, 0x01]);
    assert!(decode(&truncated).is_err());
    assert!(decode(&envelope("v1", "NoSuchKind", b"")).is_err());
}

#[test]
fn embedded_structs_are_inlined_as_json_does() {
    let mut empty_dir = field(2, b"");
    empty_dir = field(2, &empty_dir);
    let mut volume = field(1, b"cache");
    volume.extend(empty_dir);
    let mut spec = field(1, &volume);
    let mut container = field(1, b"app");
    container.extend(field(2, b"nginx"));
    spec.extend(field(2, &container));
    let mut raw = field(1, &object_meta("web"));
    raw.extend(field(2, &spec));
    let pod = decode(&envelope("v1", "Pod", &raw)).unwrap();
    assert_eq!(
        pod["spec"]["volumes"][0],
        serde_json::json!({"name": "cache", "emptyDir": {}})
    );
    assert_eq!(
        pod["spec"]["containers"][0],
        serde_json::json!({"name": "app", "image": "nginx"})
    );
}
