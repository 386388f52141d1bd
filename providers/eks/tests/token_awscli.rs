//! `clusterctl token` against the real `aws eks get-token` (PyPI awscli, installed by
//! scripts/setup into the project venv): with frozen credentials and clock, both produce the
//! same presigned URL.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use base64::Engine as _;
use clusterctl_provider_eks::token::{presign, verify, TOKEN_PREFIX};

/// 2026-01-01T00:00:00Z.
const FROZEN_UNIX: u64 = 1_767_225_600;

const ORACLE: &str = r#"
import datetime, sys
from unittest import mock
import botocore.auth, botocore.session
from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator
key, secret, token, region, cluster = sys.argv[1:6]
session = botocore.session.get_session()
session.set_credentials(key, secret, token or None)
frozen = datetime.datetime(2026, 1, 1, 0, 0, 0)
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
    client = STSClientFactory(session).get_sts_client(region_name=region)
    print(TokenGenerator(client).get_token(cluster))
"#;

/// The venv python that has awscli, or `None` (the test then says how to install it).
fn python_with_awscli() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let python = cache.join("clusterctl/venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import awscli"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

fn awscli_token(python: &PathBuf, creds: [&str; 3], region: &str, cluster: &str) -> String {
    let out = Command::new(python)
        .args(["-c", ORACLE])
        .args(creds)
        .args([region, cluster])
        // Neither an endpoint override nor a profile may change what awscli signs.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run the awscli oracle");
    assert!(
        out.status.success(),
        "awscli oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn decoded(token: &str) -> String {
    let body = token.strip_prefix(TOKEN_PREFIX).unwrap();
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap(),
    )
    .unwrap()
}

fn frozen() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(FROZEN_UNIX)
}

#[test]
fn token_is_byte_identical_to_aws_eks_get_token_for_static_credentials() {
    let Some(python) = python_with_awscli() else {
        eprintln!("SKIPPED: awscli is not installed in the project venv; run scripts/setup");
        return;
    };
    let (key, secret) = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let expected = awscli_token(&python, [key, secret, ""], "us-west-2", "my-cluster");
    let ours = presign(
        "my-cluster",
        "us-west-2",
        &Credentials::new(key, secret, None, None, "t"),
        frozen(),
    )
    .unwrap();
    assert_eq!(decoded(&ours.token), decoded(&expected));
    assert_eq!(ours.token, expected);
    verify(&ours.token, frozen()).unwrap();
}

#[test]
fn token_with_session_credentials_matches_aws_eks_get_token() {
    let Some(python) = python_with_awscli() else {
        eprintln!("SKIPPED: awscli is not installed in the project venv; run scripts/setup");
        return;
    };
    let (key, secret, session) = (
        "ASIAEXAMPLE",
        "c2VjcmV0/+",
        "FwoGZXIvYXdzEJr//////////wEaDJ+session=",
    );
    let expected = awscli_token(&python, [key, secret, session], "eu-central-1", "prod");
    let creds = Credentials::new(key, secret, Some(session.to_owned()), None, "t");
    let ours = presign("prod", "eu-central-1", &creds, frozen()).unwrap();
    assert_eq!(decoded(&ours.token), decoded(&expected));
    verify(&ours.token, frozen()).unwrap();
}
