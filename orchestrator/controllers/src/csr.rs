//! CertificateSigningRequests: upstream's csrapproving and csrsigning controllers in one.
//!
//! Approval is automatic only for kubelets (as upstream's `csrapproving`): a client certificate
//! for `system:node:<name>` in `system:nodes` (signer `kubernetes.io/kube-apiserver-client-kubelet`)
//! requested by a bootstrap token or by that node itself (renewal), and a serving certificate
//! (signer `kubernetes.io/kubelet-serving`) with DNS/IP names requested by that node itself.
//! Anything else waits for `kubectl certificate approve|deny`. Approved requests for the
//! kubelet signers and `kubernetes.io/kube-apiserver-client` are signed by the cluster CA; denied
//! ones never are.

mod signer;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::ByteString;
use kube::api::{Api, PostParams};
use kube::runtime::watcher::{self, watcher};
use kube::runtime::WatchStreamExt;
use kube::Client;

pub use signer::{CsrSigner, SignError, DEFAULT_DURATION, MIN_DURATION};

use crate::{Error, Result};

/// Signer of kubelet client certificates.
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// Signer of kubelet serving certificates.
pub const KUBELET_SERVING_SIGNER: &str = "kubernetes.io/kubelet-serving";
/// Signer of generic API server client certificates.
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// The group every node certificate carries.
const NODES_GROUP: &str = "system:nodes";

/// What the controller does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Add the Approved condition with this message.
    Approve(String),
    /// Sign it: the request is approved and ours to sign.
    Sign,
    /// Add the Failed condition: approved, but not something its signer may issue.
    Fail(String),
}

/// The subject and names of a certificate request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSubject {
    /// Subject common name.
    pub common_name: String,
    /// Subject organisations (Kubernetes groups).
    pub organizations: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP subject alternative names.
    pub ip_addresses: Vec<IpAddr>,
    /// Email and URI names (never allowed in kubelet certificates).
    pub other_names: usize,
}

/// Parses a PEM certificate request (checking its self-signature).
pub fn parse_request(pem: &[u8]) -> Result<RequestSubject, String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer;
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    if block.label != "CERTIFICATE REQUEST" {
        return Err(format!(
            "PEM block type is {}, not CERTIFICATE REQUEST",
            block.label
        ));
    }
    let (_, request) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
            .map_err(|e| e.to_string())?;
    request
        .verify_signature()
        .map_err(|_| "the request's signature does not verify".to_owned())?;
    let info = &request.certification_request_info;
    let attr = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        a.as_str().map(str::to_owned).unwrap_or_default()
    };
    let mut subject = RequestSubject {
        common_name: info
            .subject
            .iter_common_name()
            .next()
            .map(attr)
            .unwrap_or_default(),
        organizations: info.subject.iter_organization().map(attr).collect(),
        ..RequestSubject::default()
    };
    for extension in request.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(dns) => subject.dns_names.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => match bytes.len() {
                        4 => subject.ip_addresses.push(IpAddr::from(
                            <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                        )),
                        16 => subject.ip_addresses.push(IpAddr::from(
                            <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                        )),
                        _ => subject.other_names += 1,
                    },
                    _ => subject.other_names += 1,
                }
            }
        }
    }
    Ok(subject)
}

fn has_condition(csr: &CertificateSigningRequest, kind: &str) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == kind))
}

fn usages_within(usages: &[String], allowed: &[&str], required: &str) -> bool {
    usages.iter().all(|u| allowed.contains(&u.as_str())) && usages.iter().any(|u| u == required)
}

/// Why the request is not a kubelet certificate its signer may issue, or `None` when it is
/// (upstream's `isNodeClientCert` / `isKubeletServingCert`, requester not considered).
pub fn kubelet_shape_error(
    signer: &str,
    usages: &[String],
    subject: &RequestSubject,
) -> Option<String> {
    if subject.organizations != [NODES_GROUP] {
        return Some(format!("subject organization is not {NODES_GROUP}"));
    }
    if !subject.common_name.starts_with("system:node:") || subject.common_name.len() <= 12 {
        return Some("subject common name does not begin with system:node:".into());
    }
    if subject.other_names > 0 {
        return Some("email and URI subjectAltNames are not allowed".into());
    }
    match signer {
        KUBELET_CLIENT_SIGNER => {
            if !subject.dns_names.is_empty() || !subject.ip_addresses.is_empty() {
                return Some("DNS and IP subjectAltNames are not allowed".into());
            }
            let allowed = ["key encipherment", "digital signature", "client auth"];
            (!usages_within(usages, &allowed, "client auth")).then(|| {
                "usages must be digital signature and client auth (key encipherment optional)"
                    .into()
            })
        }
        KUBELET_SERVING_SIGNER => {
            if subject.dns_names.is_empty() && subject.ip_addresses.is_empty() {
                return Some("at least one DNS or IP subjectAltName is required".into());
            }
            let allowed = ["key encipherment", "digital signature", "server auth"];
            (!usages_within(usages, &allowed, "server auth")).then(|| {
                "usages must be digital signature and server auth (key encipherment optional)"
                    .into()
            })
        }
        _ => None,
    }
}

/// What to do with `csr` now, or `None` when nothing (pending for a human, finished, or another
/// signer's).
pub fn decide(csr: &CertificateSigningRequest) -> Option<Action> {
    let spec = &csr.spec;
    let signer = spec.signer_name.as_str();
    if !matches!(
        signer,
        KUBELET_CLIENT_SIGNER | KUBELET_SERVING_SIGNER | CLIENT_SIGNER
    ) {
        return None;
    }
    if has_condition(csr, "Denied") || has_condition(csr, "Failed") {
        return None;
    }
    let issued = csr
        .status
        .as_ref()
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    if issued {
        return None;
    }
    let subject = parse_request(&spec.request.0);
    let usages = spec.usages.clone().unwrap_or_default();
    if has_condition(csr, "Approved") {
        return Some(match (&subject, signer) {
            (Err(e), _) => Action::Fail(format!("invalid certificate request: {e}")),
            (Ok(_), CLIENT_SIGNER) => Action::Sign,
            (Ok(subject), _) => match kubelet_shape_error(signer, &usages, subject) {
                Some(reason) => Action::Fail(reason),
                None => Action::Sign,
            },
        });
    }
    let subject = subject.ok()?;
    if signer == CLIENT_SIGNER || kubelet_shape_error(signer, &usages, &subject).is_some() {
        return None;
    }
    let username = spec.username.as_deref().unwrap_or_default();
    let groups = spec.groups.clone().unwrap_or_default();
    let is_self = username == subject.common_name && groups.iter().any(|g| g == NODES_GROUP);
    match signer {
        KUBELET_CLIENT_SIGNER if username.starts_with("system:bootstrap:") => {
            Some(Action::Approve(
                "Auto approving kubelet client certificate after SubjectAccessReview.".into(),
            ))
        }
        KUBELET_CLIENT_SIGNER if is_self => Some(Action::Approve(
            "Auto approving self kubelet client certificate after SubjectAccessReview.".into(),
        )),
        KUBELET_SERVING_SIGNER if is_self => Some(Action::Approve(
            "Auto approving kubelet serving certificate requested by the node itself.".into(),
        )),
        _ => None,
    }
}

/// The lifetime of the certificate for `csr`: its `expirationSeconds` (at least 10 minutes),
/// never more than [`DEFAULT_DURATION`].
pub fn duration_of(csr: &CertificateSigningRequest) -> Duration {
    csr.spec
        .expiration_seconds
        .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
        .map_or(DEFAULT_DURATION, |d| {
            d.clamp(MIN_DURATION, DEFAULT_DURATION)
        })
}

fn condition(kind: &str, reason: &str, message: &str) -> CertificateSigningRequestCondition {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    CertificateSigningRequestCondition {
        type_: kind.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

fn with_condition(
    mut csr: CertificateSigningRequest,
    added: CertificateSigningRequestCondition,
) -> CertificateSigningRequest {
    let status = csr
        .status
        .get_or_insert_with(CertificateSigningRequestStatus::default);
    status.conditions.get_or_insert_with(Vec::new).push(added);
    csr
}

/// Carries out `decide` for one request through the API.
async fn handle(
    api: &Api<CertificateSigningRequest>,
    signer: &CsrSigner,
    csr: CertificateSigningRequest,
) -> Result<()> {
    let Some(action) = decide(&csr) else {
        return Ok(());
    };
    let name = csr.metadata.name.clone().unwrap_or_default();
    let api_error = |operation: String| move |source| Error::Api { operation, source };
    match action {
        Action::Approve(message) => {
            tracing::info!(csr = %name, signer = %csr.spec.signer_name, "approving certificate request");
            let approved = with_condition(csr, condition("Approved", "AutoApproved", &message));
            api.replace_subresource("approval", &name, &PostParams::default(), &approved)
                .await
                .map_err(api_error(format!(
                    "approve certificatesigningrequest {name}"
                )))?;
        }
        Action::Sign => {
            let request = String::from_utf8_lossy(&csr.spec.request.0).into_owned();
            let usages = csr.spec.usages.clone().unwrap_or_default();
            let updated = match signer.sign(&request, &usages, duration_of(&csr)) {
                Ok(pem) => {
                    tracing::info!(csr = %name, "issued certificate");
                    let mut csr = csr;
                    csr.status
                        .get_or_insert_with(CertificateSigningRequestStatus::default)
                        .certificate = Some(ByteString(pem.into_bytes()));
                    csr
                }
                Err(error) => {
                    tracing::warn!(csr = %name, %error, "cannot sign certificate request");
                    let message = error.to_string();
                    with_condition(csr, condition("Failed", "SigningError", &message))
                }
            };
            api.replace_status(&name, &PostParams::default(), &updated)
                .await
                .map_err(api_error(format!(
                    "write the certificate of certificatesigningrequest {name}"
                )))?;
        }
        Action::Fail(message) => {
            tracing::warn!(csr = %name, reason = %message, "refusing to sign certificate request");
            let failed = with_condition(
                csr,
                condition("Failed", "SignerValidationFailure", &message),
            );
            api.replace_status(&name, &PostParams::default(), &failed)
                .await
                .map_err(api_error(format!(
                    "mark certificatesigningrequest {name} failed"
                )))?;
        }
    }
    Ok(())
}

/// Watches CertificateSigningRequests and approves and signs them until the watch ends.
pub async fn run(client: Client, signer: Arc<CsrSigner>) -> Result<()> {
    let api: Api<CertificateSigningRequest> = Api::all(client);
    let mut stream = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(csr) => {
                if let Err(error) = handle(&api, &signer, csr).await {
                    tracing::warn!(%error, "certificate request not processed; retried on its next change");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "certificatesigningrequests watch failed; retrying")
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::certificates::v1::CertificateSigningRequestSpec;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};

    fn request(cn: &str, org: &str, sans: Vec<SanType>) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        params.subject_alt_names = sans;
        params
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap()
            .into_bytes()
    }

    fn csr(
        signer: &str,
        username: &str,
        groups: &[&str],
        request: Vec<u8>,
        usages: &[&str],
    ) -> CertificateSigningRequest {
        CertificateSigningRequest {
            metadata: Default::default(),
            spec: CertificateSigningRequestSpec {
                request: ByteString(request),
                signer_name: signer.into(),
                usages: Some(usages.iter().map(|u| (*u).to_owned()).collect()),
                username: Some(username.into()),
                groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
                ..Default::default()
            },
            status: None,
        }
    }

    const CLIENT_USAGES: &[&str] = &["digital signature", "client auth"];

    #[test]
    fn bootstrap_token_client_requests_are_approved_then_signed() {
        let pending = csr(
            KUBELET_CLIENT_SIGNER,
            "system:bootstrap:abcdef",
            &["system:bootstrappers", "system:authenticated"],
            request("system:node:worker-1", "system:nodes", vec![]),
            CLIENT_USAGES,
        );
        assert!(matches!(decide(&pending), Some(Action::Approve(_))));
        let approved = with_condition(pending, condition("Approved", "AutoApproved", "ok"));
        assert_eq!(decide(&approved), Some(Action::Sign));
    }

    #[test]
    fn a_node_may_renew_only_its_own_client_certificate() {
        let own = csr(
            KUBELET_CLIENT_SIGNER,
            "system:node:worker-1",
            &["system:nodes"],
            request("system:node:worker-1", "system:nodes", vec![]),
            CLIENT_USAGES,
        );
        assert!(matches!(decide(&own), Some(Action::Approve(_))));
        let other = csr(
            KUBELET_CLIENT_SIGNER,
            "system:node:worker-2",
            &["system:nodes"],
            request("system:node:worker-1", "system:nodes", vec![]),
            CLIENT_USAGES,
        );
        assert_eq!(decide(&other), None);
    }

    #[test]
    fn wrong_group_usage_or_requester_stays_pending() {
        let masters = csr(
            KUBELET_CLIENT_SIGNER,
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
            request("system:node:worker-1", "system:masters", vec![]),
            CLIENT_USAGES,
        );
        assert_eq!(decide(&masters), None);
        let server_usage = csr(
            KUBELET_CLIENT_SIGNER,
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
            request("system:node:worker-1", "system:nodes", vec![]),
            &["digital signature", "server auth"],
        );
        assert_eq!(decide(&server_usage), None);
        let serving_by_bootstrap = csr(
            KUBELET_SERVING_SIGNER,
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
            request(
                "system:node:worker-1",
                "system:nodes",
                vec![SanType::IpAddress("10.0.0.5".parse().unwrap())],
            ),
            &["digital signature", "server auth"],
        );
        assert_eq!(decide(&serving_by_bootstrap), None);
        let human = csr(
            CLIENT_SIGNER,
            "jane",
            &["system:authenticated"],
            request("jane", "dev", vec![]),
            CLIENT_USAGES,
        );
        assert_eq!(decide(&human), None);
    }

    #[test]
    fn serving_requests_from_the_node_itself_are_approved() {
        let serving = csr(
            KUBELET_SERVING_SIGNER,
            "system:node:worker-1",
            &["system:nodes", "system:authenticated"],
            request(
                "system:node:worker-1",
                "system:nodes",
                vec![
                    SanType::DnsName("worker-1".try_into().unwrap()),
                    SanType::IpAddress("10.0.0.5".parse().unwrap()),
                ],
            ),
            &["digital signature", "key encipherment", "server auth"],
        );
        assert!(matches!(decide(&serving), Some(Action::Approve(_))));
    }

    #[test]
    fn denied_requests_are_never_signed_and_bad_approved_ones_fail() {
        let base = csr(
            KUBELET_CLIENT_SIGNER,
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
            request("system:node:worker-1", "system:nodes", vec![]),
            CLIENT_USAGES,
        );
        let denied = with_condition(base, condition("Denied", "KubectlDeny", "no"));
        assert_eq!(decide(&denied), None);
        let wrong = csr(
            KUBELET_CLIENT_SIGNER,
            "jane",
            &[],
            request("jane", "system:masters", vec![]),
            CLIENT_USAGES,
        );
        let approved = with_condition(wrong, condition("Approved", "KubectlApprove", "ok"));
        assert!(matches!(decide(&approved), Some(Action::Fail(_))));
    }

    #[test]
    fn expiration_is_honoured_within_ten_minutes_and_a_year() {
        let mut c = csr(KUBELET_CLIENT_SIGNER, "u", &[], vec![], CLIENT_USAGES);
        assert_eq!(duration_of(&c), DEFAULT_DURATION);
        c.spec.expiration_seconds = Some(60);
        assert_eq!(duration_of(&c), MIN_DURATION);
        c.spec.expiration_seconds = Some(3600);
        assert_eq!(duration_of(&c), Duration::from_secs(3600));
        c.spec.expiration_seconds = Some(i32::MAX);
        assert_eq!(duration_of(&c), DEFAULT_DURATION);
    }

    #[test]
    fn the_signer_issues_what_was_asked_for_by_its_ca() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test-ca");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let signer = CsrSigner::from_pem(&ca.pem(), &ca_key.serialize_pem()).unwrap();
        let pem = request(
            "system:node:worker-1",
            "system:nodes",
            vec![SanType::IpAddress("10.0.0.5".parse().unwrap())],
        );
        let cert = signer
            .sign(
                std::str::from_utf8(&pem).unwrap(),
                &["digital signature".into(), "server auth".into()],
                Duration::from_secs(3600),
            )
            .unwrap();
        let (_, block) = x509_parser::pem::parse_x509_pem(cert.as_bytes()).unwrap();
        let parsed = block.parse_x509().unwrap();
        assert_eq!(
            parsed
                .subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "system:node:worker-1"
        );
        let (_, ca_block) = x509_parser::pem::parse_x509_pem(ca.pem().as_bytes()).unwrap();
        let ca_parsed = ca_block.parse_x509().unwrap();
        assert!(parsed
            .verify_signature(Some(ca_parsed.public_key()))
            .is_ok());
        let life =
            parsed.validity().not_after.timestamp() - parsed.validity().not_before.timestamp();
        assert_eq!(life, 3600 + 300);
        let eku = parsed.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        assert!(signer
            .sign("not a request", &[], Duration::from_secs(3600))
            .is_err());
    }
}
