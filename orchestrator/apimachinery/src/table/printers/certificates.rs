//! CertificateSigningRequests (upstream `printCertificateSigningRequest`).

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{age, col, name, Col, Row, AGE, NAME};
use crate::table::age::human_duration;
use crate::table::value::{list, opt_text, text};

pub(crate) const CSR_COLUMNS: &[Col] = &[
    NAME,
    AGE,
    col("SignerName", "string", "signerName indicates the requested signer, and is a qualified name."),
    col("Requestor", "string", "request contains an x509 certificate signing request encoded in a \"CERTIFICATE REQUEST\" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded."),
    col("RequestedDuration", "string", "expirationSeconds is the requested duration of validity of the issued certificate. The certificate signer may issue a certificate with a different validity duration so a client must check the delta between the notBefore and and notAfter fields in the issued certificate to determine the actual duration."),
    col("Condition", "string", "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and \"Failed\"."),
];

pub(crate) fn csr_row(csr: &Value, now: OffsetDateTime) -> Row {
    let signer = opt_text(csr, "/spec/signerName").unwrap_or("<none>");
    let duration = csr
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .map_or_else(
            || "<none>".to_owned(),
            |s| human_duration(time::Duration::seconds(s)),
        );
    vec![
        name(csr),
        json!(age(csr, now)),
        json!(signer),
        json!(text(csr, "/spec/username")),
        json!(duration),
        json!(condition(csr)),
    ]
    .into()
}

/// `Pending`, `Approved` or `Denied`, then `,Failed` and `,Issued` (upstream `extractCSRStatus`).
pub(crate) fn condition(csr: &Value) -> String {
    let has = |kind: &str| {
        list(csr, "/status/conditions")
            .iter()
            .any(|c| c.get("type").and_then(Value::as_str) == Some(kind))
    };
    let mut status = if has("Denied") {
        "Denied".to_owned()
    } else if has("Approved") {
        "Approved".to_owned()
    } else {
        "Pending".to_owned()
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !text(csr, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_orders_denied_before_approved_and_adds_issued() {
        let csr = |conditions: Value, cert: &str| json!({"status": {"conditions": conditions, "certificate": cert}});
        assert_eq!(condition(&json!({})), "Pending");
        assert_eq!(
            condition(&csr(json!([{"type": "Approved"}]), "Y2VydA==")),
            "Approved,Issued"
        );
        assert_eq!(
            condition(&csr(json!([{"type": "Approved"}, {"type": "Denied"}]), "")),
            "Denied"
        );
        assert_eq!(
            condition(&csr(json!([{"type": "Approved"}, {"type": "Failed"}]), "")),
            "Approved,Failed"
        );
    }

    #[test]
    fn row_shows_signer_requestor_and_duration() {
        let csr = json!({"metadata": {"name": "node-csr-abc", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "username": "system:bootstrap:abcdef", "expirationSeconds": 3600}});
        let now = OffsetDateTime::parse(
            "2024-01-01T00:05:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let row = csr_row(&csr, now);
        assert_eq!(
            Value::Array(row.cells),
            json!([
                "node-csr-abc",
                "5m",
                "kubernetes.io/kube-apiserver-client-kubelet",
                "system:bootstrap:abcdef",
                "60m",
                "Pending"
            ])
        );
    }
}
