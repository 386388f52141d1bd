//! The real clients: the AWS SDK for Rust behind the narrow traits, and how they are configured
//! (one HTTPS client on rustls/ring, standard retries with back-off for throttling, the endpoint
//! override `AWS_ENDPOINT_URL` honoured by aws-config).

mod ec2;
mod eks;
mod iam;
mod sts;

pub use ec2::SdkEc2;
pub use eks::SdkEks;
pub use iam::SdkIam;
pub use sts::SdkSts;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;

use crate::api::{Aws, Tags};

/// Attempts per call, so throttling and transient errors are retried with exponential back-off.
const MAX_ATTEMPTS: u32 = 6;

/// Loads the shared AWS configuration for `region` (credentials, endpoint override, retries).
///
/// Credentials and the endpoint come from the usual places (environment, `~/.aws`, SSO cache,
/// instance role); `AWS_ENDPOINT_URL` points every client at an emulator such as moto.
pub async fn load_config(region: Option<&str>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    loader.load().await
}

/// The four real clients for `config`'s region.
pub fn clients(config: &SdkConfig) -> Aws {
    Aws {
        region: config
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default(),
        eks: Arc::new(SdkEks::new(aws_sdk_eks::Client::new(config))),
        ec2: Arc::new(SdkEc2::new(aws_sdk_ec2::Client::new(config))),
        iam: Arc::new(SdkIam::new(aws_sdk_iam::Client::new(config))),
        sts: Arc::new(SdkSts::new(aws_sdk_sts::Client::new(config))),
    }
}

fn to_hash_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn from_hash_map(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}
