//! Dispatch over the providers (enum, not `dyn`): which are built, and the clear error for those that
//! are not yet.

use clusterctl_config::Provider;
use clusterctl_provider_api::ProviderError;

/// Where each provider's work is tracked, for the "not built yet" message.
fn tracking(provider: Provider) -> &'static str {
    match provider {
        Provider::Eks => "issue #7 (EKS provider, tested against moto)",
        Provider::Gke => "the GKE provider issue (not filed yet)",
        Provider::Aks => "the AKS provider issue (not filed yet)",
        Provider::Local => "issue #6 (local provider), which needs the clusterd orchestrator (#3, #4, #5)",
        Provider::Ssh => "the ssh provider issue (not filed yet), which needs the clusterd orchestrator (#3, #4, #5)",
    }
}

/// The built providers. None can act on clusters yet; each arrives as its own crate and variant.
#[derive(Debug)]
pub enum AnyProvider {}

/// The provider for `kind`, or the error saying it is not built yet and what to use meanwhile.
pub fn get(kind: Provider, operation: &str) -> Result<AnyProvider, ProviderError> {
    Err(ProviderError::NotBuilt {
        provider: kind,
        operation: operation.to_string(),
        detail: format!(
            "this build of clusterctl does not include it; it is tracked in {}. Nothing was changed. \
             `clusterctl create --dry-run` validates a config and prints it fully defaulted meanwhile",
            tracking(kind)
        ),
    })
}
