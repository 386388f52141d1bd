//! Kubernetes versions clusterctl can create.

use crate::provider::Provider;

/// Oldest supported minor version (1.27).
pub const OLDEST_MINOR: u32 = 27;
/// Newest supported minor version (1.33).
pub const NEWEST_MINOR: u32 = 33;

/// Checks a Kubernetes version given outside a config (such as `clusterctl upgrade --version`):
/// `1.32` or `1.32.4`, from 1.27 to 1.33.
pub fn validate_version(version: &str) -> crate::Result<()> {
    kubernetes_version(Provider::Local, version)
        .map_err(|reason| crate::ConfigError::InvalidVersion { reason })
}

/// `1.32` or `1.32.4`, within the supported range; EKS takes only the minor version.
pub(crate) fn kubernetes_version(provider: Provider, s: &str) -> Result<(), String> {
    let number = |p: &str| {
        (!p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && (p == "0" || !p.starts_with('0')))
        .then(|| p.parse::<u32>().ok())
        .flatten()
    };
    let parts: Vec<&str> = s.split('.').collect();
    let parsed: Option<Vec<u32>> = parts.iter().map(|p| number(p)).collect();
    let Some(numbers) = parsed.filter(|n| (2..=3).contains(&n.len())) else {
        let hint = if s.starts_with('v') {
            " (drop the leading v)"
        } else {
            ""
        };
        return Err(format!("{s:?} is not a version like 1.32 or 1.32.4{hint}"));
    };
    if numbers[0] != 1 || !(OLDEST_MINOR..=NEWEST_MINOR).contains(&numbers[1]) {
        return Err(format!(
            "{s} is not supported (supported: 1.{OLDEST_MINOR} to 1.{NEWEST_MINOR})"
        ));
    }
    if provider == Provider::Eks && numbers.len() == 3 {
        return Err(format!(
            "eks picks the patch release itself, give only the minor version 1.{}",
            numbers[1]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_version_explains_the_supported_range() {
        assert!(validate_version("1.33.0").is_ok());
        let err = validate_version("1.20").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid kubernetes version: 1.20 is not supported (supported: 1.27 to 1.33)"
        );
    }

    #[test]
    fn versions_inside_the_range_pass_and_others_name_the_range() {
        assert!(kubernetes_version(Provider::Local, "1.27").is_ok());
        assert!(kubernetes_version(Provider::Local, "1.33.1").is_ok());
        let old = kubernetes_version(Provider::Local, "1.26").unwrap_err();
        assert_eq!(old, "1.26 is not supported (supported: 1.27 to 1.33)");
        assert!(kubernetes_version(Provider::Local, "v1.32")
            .unwrap_err()
            .contains("leading v"));
        assert!(kubernetes_version(Provider::Local, "1.32.04").is_err());
        assert!(kubernetes_version(Provider::Eks, "1.32.4").is_err());
    }
}
