//! The EKS provider: what eksctl does, without CloudFormation. clusterctl calls the EKS, EC2, IAM
//! and STS APIs directly, each behind a narrow trait ([`api`]), in titled, idempotent steps
//! ([`steps`]): VPC, IAM roles, cluster, managed node groups, kubeconfig. Every resource is tagged
//! `clusterctl.io/cluster=<name>` and `clusterctl.io/owned=true`, so a re-run resumes and a
//! `delete` removes exactly what this tool made. [`token`] mints the bearer token kubectl's exec
//! plugin (`clusterctl token`) hands to the cluster.

pub mod api;
pub mod error;
pub mod names;
pub mod provider;
pub mod spec;
pub mod steps;
pub mod token;

pub use error::{Error, Result};
pub use provider::{EksOptions, EksProvider};
pub use steps::kubeconfig::TokenCommand;

/// Prints the token for `cluster` as an ExecCredential on behalf of `clusterctl token`: loads
/// credentials for `region` (assuming `role_arn` when given) and signs at the current time.
pub async fn exec_credential(
    cluster: &str,
    region: Option<&str>,
    role_arn: Option<&str>,
    exec_info: Option<&str>,
) -> Result<String> {
    let config = api::sdk::load_config(region).await;
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or_else(|| {
            Error::Invalid("no AWS region: pass --region or set AWS_REGION".to_owned())
        })?;
    let credentials = token::load_credentials(&config, role_arn).await?;
    let minted = token::presign(cluster, &region, &credentials, std::time::SystemTime::now())?;
    Ok(token::exec_credential(
        &minted,
        &token::exec_api_version(exec_info),
    ))
}
