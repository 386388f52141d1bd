//! The EKS provider's error, and turning AWS SDK errors into messages a person can act on.

use std::error::Error as StdError;

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use clusterctl_provider_api::ProviderError;

/// Everything that can go wrong in the EKS provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS call answered with an error.
    #[error("{operation}{}: {code}: {message}{}", on(resource), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Api {
        /// The API operation, e.g. `eks:CreateCluster`.
        operation: String,
        /// What it was about (cluster name, VPC id, role name).
        resource: String,
        /// The AWS error code, e.g. `AccessDeniedException`.
        code: String,
        /// The service's message.
        message: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// The endpoint answered with something that is not an AWS answer (an emulator lacking the call).
    #[error("{operation}{}: the endpoint does not implement {operation} (HTTP {status}); use real AWS or an emulator that supports it", on(resource))]
    NotImplemented {
        /// The API operation.
        operation: String,
        /// What it was about.
        resource: String,
        /// The HTTP status it answered with.
        status: u16,
    },
    /// The call never got an answer (DNS, connection, timeout).
    #[error("{operation}{}: cannot reach AWS: {detail}{}", on(resource), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unreachable {
        /// The API operation.
        operation: String,
        /// What it was about.
        resource: String,
        /// The transport's error chain.
        detail: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// A resource with this name exists but was not created by clusterctl for this cluster.
    #[error("{what} {name:?} already exists and was not created by clusterctl for cluster {cluster:?}; choose another name or delete it yourself")]
    NotOwned {
        /// Kind of resource.
        what: &'static str,
        /// Its name or id.
        name: String,
        /// The cluster clusterctl was working on.
        cluster: String,
    },
    /// The cluster, node group or role does not exist.
    #[error("{what} {name:?} not found{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// The request is wrong before any call is made.
    #[error("{0}")]
    Invalid(String),
    /// Loading credentials or signing the token failed.
    #[error("{operation}: {detail}")]
    Credentials {
        /// What was being done, e.g. "load AWS credentials".
        operation: String,
        /// Why it failed.
        detail: String,
    },
    /// Reading or writing the kubeconfig failed.
    #[error(transparent)]
    Kubeconfig(#[from] clusterctl_kubeconfig::Error),
}

/// ` <resource>`, or nothing when the call was not about one resource.
fn on(resource: &str) -> String {
    if resource.is_empty() {
        String::new()
    } else {
        format!(" {resource}")
    }
}

/// Result of the EKS provider's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns an SDK error from `operation` on `resource` into an [`Error`] with a hint.
pub fn from_sdk<E>(operation: &str, resource: &str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    if let SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) = &error {
        let detail = clusterctl_steps::error_chain(&error);
        let hint = region_hint(&detail);
        return Error::Unreachable {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            detail,
            hint,
        };
    }
    let code = error.code().map(str::to_owned);
    let body = error
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).trim_start().to_owned())
        .unwrap_or_default();
    // An emulator's plain "404 Not Found" page instead of an AWS error document.
    if code.is_none() && (body.starts_with('<') || status == Some(404)) {
        return Error::NotImplemented {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            status: status.unwrap_or(0),
        };
    }
    let code = code.unwrap_or_else(|| "Unknown".to_owned());
    let message = error
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| clusterctl_steps::error_chain(&error));
    let hint = hint_for(operation, &code, &message);
    Error::Api {
        operation: operation.to_owned(),
        resource: resource.to_owned(),
        code,
        message,
        hint,
    }
}

/// What a person should do about an AWS error `code` from `operation` (`service:Action`).
pub fn hint_for(operation: &str, code: &str, message: &str) -> Option<String> {
    let hint = match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "UnauthorizedException" => {
            format!("the caller is missing the IAM permission {operation}; grant it to the user or role whose credentials clusterctl uses")
        }
        "UnrecognizedClientException" | "InvalidClientTokenId" | "AuthFailure" | "SignatureDoesNotMatch" => {
            "the AWS credentials are invalid or expired; check AWS_PROFILE / AWS_ACCESS_KEY_ID or run `aws sts get-caller-identity`".to_owned()
        }
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "the session credentials expired; refresh them (e.g. `aws sso login`) and re-run".to_owned()
        }
        c if c.contains("LimitExceeded") || c.contains("QuotaExceeded") => {
            "an AWS service quota is reached; raise it in the Service Quotas console or delete unused resources".to_owned()
        }
        "ResourceInUseException" | "EntityAlreadyExists" if operation.contains("Create") => {
            "the name is taken; choose another name or delete the existing resource".to_owned()
        }
        "ResourceInUseException" | "DependencyViolation" => {
            "something still uses it; wait for dependent resources to finish deleting and re-run".to_owned()
        }
        "UnsupportedAvailabilityZoneException" => {
            "EKS has no capacity in that availability zone; give subnets in other zones".to_owned()
        }
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException" => {
            "AWS kept throttling after retries with back-off; wait a minute and re-run".to_owned()
        }
        "InvalidParameterException" | "InvalidRequestException" | "InvalidParameterValue"
            if message.to_ascii_lowercase().contains("version") =>
        {
            "check the Kubernetes version: EKS supports only its current versions and upgrades one minor version at a time".to_owned()
        }
        _ => return None,
    };
    Some(hint)
}

/// A region typo or a region without EKS shows up as a DNS failure for `eks.<region>.amazonaws.com`.
fn region_hint(detail: &str) -> Option<String> {
    let lower = detail.to_ascii_lowercase();
    (lower.contains("dns") || lower.contains("failed to lookup") || lower.contains("resolve"))
        .then(|| "check --region: it may be misspelt, or EKS may not be available there".to_owned())
}

impl From<Error> for ProviderError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { what, name, hint } => ProviderError::NotFound { what, name, hint },
            Error::Invalid(message) => ProviderError::InvalidRequest { message },
            other => ProviderError::Other(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::error::ErrorMetadata;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn answer(
        status: u16,
        body: &'static str,
        error: DescribeClusterError,
    ) -> SdkError<DescribeClusterError, HttpResponse> {
        let status = StatusCode::try_from(status).unwrap();
        SdkError::service_error(error, HttpResponse::new(status, SdkBody::from(body)))
    }

    #[test]
    fn an_emulators_html_404_says_the_endpoint_does_not_implement_the_call() {
        let html = "<!doctype html>\n<title>404 Not Found</title>";
        let error = answer(
            404,
            html,
            DescribeClusterError::generic(ErrorMetadata::builder().build()),
        );
        let mapped = from_sdk("eks:DescribeUpdate", "dev", error);
        assert!(
            matches!(mapped, Error::NotImplemented { status: 404, .. }),
            "{mapped:?}"
        );
        assert_eq!(
            mapped.to_string(),
            "eks:DescribeUpdate dev: the endpoint does not implement eks:DescribeUpdate (HTTP 404); use real AWS or an emulator that supports it"
        );
    }

    #[test]
    fn a_service_error_keeps_its_code_and_gains_a_hint() {
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("User is not authorized to perform eks:DescribeCluster")
            .build();
        let error = answer(403, "{}", DescribeClusterError::generic(meta));
        let text = from_sdk("eks:DescribeCluster", "dev", error).to_string();
        assert!(
            text.starts_with(
                "eks:DescribeCluster dev: AccessDeniedException: User is not authorized"
            ),
            "{text}"
        );
        assert!(
            text.contains("missing the IAM permission eks:DescribeCluster"),
            "{text}"
        );
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        let hint = hint_for(
            "eks:CreateCluster",
            "AccessDeniedException",
            "not authorized",
        )
        .unwrap();
        assert!(hint.contains("eks:CreateCluster"), "{hint}");
    }

    #[test]
    fn quota_errors_point_at_service_quotas() {
        let hint = hint_for("ec2:CreateVpc", "VpcLimitExceeded", "limit").unwrap();
        assert!(hint.contains("quota"), "{hint}");
    }

    #[test]
    fn name_taken_on_create_says_choose_another_name() {
        let hint = hint_for("eks:CreateCluster", "ResourceInUseException", "exists").unwrap();
        assert!(hint.contains("name is taken"), "{hint}");
    }

    #[test]
    fn dns_failures_suggest_checking_the_region() {
        assert!(region_hint("dns error: failed to lookup address information").is_some());
        assert!(region_hint("connection refused").is_none());
    }
}
