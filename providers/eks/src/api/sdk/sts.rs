//! [`StsApi`] over `aws-sdk-sts`, plus role assumption for `clusterctl token --role-arn`.

use aws_credential_types::Credentials;
use aws_sdk_sts::Client;
use clusterctl_steps::BoxFuture;

use crate::api::{CallerIdentity, StsApi};
use crate::error::from_sdk;
use crate::{Error, Result};

/// The STS client.
#[derive(Debug, Clone)]
pub struct SdkSts {
    client: Client,
}

impl SdkSts {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// `AssumeRole` with session name `session`: the temporary credentials to sign with.
    pub async fn assume_role(&self, role_arn: &str, session: &str) -> Result<Credentials> {
        let out = self
            .client
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .send()
            .await
            .map_err(|e| from_sdk("sts:AssumeRole", role_arn, e))?;
        let creds = out.credentials().ok_or_else(|| Error::Credentials {
            operation: format!("assume role {role_arn}"),
            detail: "sts answered without credentials".to_owned(),
        })?;
        Ok(Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "clusterctl-assume-role",
        ))
    }
}

impl StsApi for SdkSts {
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>> {
        Box::pin(async move {
            let out = self
                .client
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| from_sdk("sts:GetCallerIdentity", "", e))?;
            Ok(CallerIdentity {
                account: out.account().unwrap_or_default().to_owned(),
                arn: out.arn().unwrap_or_default().to_owned(),
            })
        })
    }
}
