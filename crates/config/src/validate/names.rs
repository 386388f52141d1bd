//! Syntax of names and identifiers: Kubernetes names and labels, cloud resource names.
//!
//! Each check returns `Err(reason)`, phrased to follow `<field path>: `.

use crate::provider::Provider;

type Check = Result<(), String>;

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn first_last(s: &str) -> (char, char) {
    (
        s.chars().next().unwrap_or(' '),
        s.chars().last().unwrap_or(' '),
    )
}

fn length(s: &str, max: usize) -> Check {
    match s.len() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters (is {n})")),
        _ => Ok(()),
    }
}

/// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending alphanumeric, <= 63.
pub(crate) fn dns_label(s: &str) -> Check {
    length(s, 63)?;
    let (first, last) = first_last(s);
    if !s.chars().all(|c| lower_alnum(c) || c == '-') || !lower_alnum(first) || !lower_alnum(last) {
        return Err(format!(
            "{s:?} is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

/// A DNS-1123 subdomain: dot-separated labels, <= 253 characters.
pub(crate) fn dns_subdomain(s: &str) -> Check {
    length(s, 253)?;
    if s.split('.').all(|label| dns_label(label).is_ok()) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS-1123 subdomain (lowercase labels separated by dots)"
        ))
    }
}

/// The name part of a Kubernetes qualified name or a non-empty label value.
fn label_name(s: &str, what: &str) -> Check {
    length(s, 63).map_err(|reason| format!("{what} {reason}"))?;
    let (first, last) = first_last(s);
    if !s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.')) || !alnum(first) || !alnum(last)
    {
        return Err(format!(
            "{s:?} is not a valid {what} (letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters)"
        ));
    }
    Ok(())
}

/// A Kubernetes label or taint key: `[prefix/]name` with a DNS subdomain prefix.
pub(crate) fn qualified_name(s: &str) -> Check {
    match s.split_once('/') {
        Some((prefix, name)) => {
            dns_subdomain(prefix).map_err(|reason| format!("key prefix: {reason}"))?;
            label_name(name, "key name")
        }
        None => label_name(s, "key"),
    }
}

/// A Kubernetes label or taint value: empty, or up to 63 name characters.
pub(crate) fn label_value(s: &str) -> Check {
    if s.is_empty() {
        return Ok(());
    }
    label_name(s, "label value")
}

/// The cluster name rules of each provider.
pub(crate) fn cluster_name(provider: Provider, s: &str) -> Check {
    match provider {
        Provider::Eks => {
            length(s, 100)?;
            let ok =
                alnum(first_last(s).0) && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_'));
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid eks cluster name (letters, digits, '-' and '_', starting with a letter or digit)")
            })
        }
        Provider::Gke => {
            length(s, 40)?;
            let (first, last) = first_last(s);
            let ok = first.is_ascii_lowercase()
                && lower_alnum(last)
                && s.chars().all(|c| lower_alnum(c) || c == '-');
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid gke cluster name (lowercase letters, digits and '-', starting with a letter and ending with a letter or digit)")
            })
        }
        Provider::Aks => {
            length(s, 63)?;
            let (first, last) = first_last(s);
            let ok = alnum(first)
                && alnum(last)
                && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_'));
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid aks cluster name (letters, digits, '-' and '_', starting and ending with a letter or digit)")
            })
        }
        Provider::Local | Provider::Ssh => dns_label(s),
    }
}

/// The node group (node pool, agent pool) name rules of each managed cloud.
pub(crate) fn node_group_name(provider: Provider, s: &str) -> Check {
    match provider {
        Provider::Eks => {
            length(s, 63)?;
            let ok =
                alnum(first_last(s).0) && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_'));
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid eks node group name (letters, digits, '-' and '_', starting with a letter or digit)")
            })
        }
        Provider::Gke => {
            length(s, 40)?;
            let ok = s.starts_with(|c: char| c.is_ascii_lowercase()) && dns_label(s).is_ok();
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid gke node pool name (lowercase letters, digits and '-', starting with a letter)")
            })
        }
        Provider::Aks => {
            length(s, 12)?;
            let ok = s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(lower_alnum);
            ok.then_some(()).ok_or_else(|| {
                format!("{s:?} is not a valid aks agent pool name (lowercase letters and digits only, starting with a letter)")
            })
        }
        Provider::Local | Provider::Ssh => dns_label(s),
    }
}

/// Region (eks), region or zone (gke), location (aks); local and ssh only use it as a label.
pub(crate) fn region(provider: Provider, s: &str) -> Check {
    let parts: Vec<&str> = s.split('-').collect();
    let letters = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let ok = match provider {
        // us-west-2, eu-central-1, us-gov-west-1
        Provider::Eks => {
            (3..=4).contains(&parts.len())
                && parts[0].len() == 2
                && letters(parts[0])
                && parts[1..parts.len() - 1].iter().all(|p| letters(p))
                && digits(parts[parts.len() - 1])
        }
        // us-central1, europe-west4-b
        Provider::Gke => {
            let region_part = |p: &str| {
                let letters_end = p.find(|c: char| c.is_ascii_digit()).unwrap_or(p.len());
                letters(&p[..letters_end]) && digits(&p[letters_end..])
            };
            (2..=3).contains(&parts.len())
                && letters(parts[0])
                && region_part(parts[1])
                && parts
                    .get(2)
                    .is_none_or(|zone| zone.len() == 1 && letters(zone))
        }
        // eastus, westeurope, southcentralus
        Provider::Aks => {
            s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(lower_alnum)
        }
        Provider::Local | Provider::Ssh => return label_value(s),
    };
    let example = match provider {
        Provider::Eks => "an aws region like us-west-2",
        Provider::Gke => "a gcp region like us-central1 or zone like us-central1-a",
        _ => "an azure location short name like eastus or westeurope",
    };
    ok.then_some(())
        .ok_or_else(|| format!("{s:?} is not {example}"))
}

/// Instance type (eks), machine type (gke) or VM size (aks).
pub(crate) fn instance_type(provider: Provider, s: &str) -> Check {
    let ok = match provider {
        Provider::Eks => s.split_once('.').is_some_and(|(family, size)| {
            !family.is_empty()
                && !size.is_empty()
                && family.chars().all(|c| lower_alnum(c) || c == '-')
                && size.chars().all(lower_alnum)
        }),
        Provider::Gke => {
            s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.contains('-')
                && s.chars().all(|c| lower_alnum(c) || c == '-')
        }
        Provider::Aks => ["Standard_", "Basic_"].iter().any(|prefix| {
            s.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| alnum(c) || c == '_'))
        }),
        Provider::Local | Provider::Ssh => return Err(format!("not used by {provider}")),
    };
    let example = match provider {
        Provider::Eks => "an ec2 instance type like t3.medium",
        Provider::Gke => "a machine type like e2-medium",
        _ => "a vm size like Standard_DS2_v2",
    };
    ok.then_some(())
        .ok_or_else(|| format!("{s:?} is not {example}"))
}

/// Cloud resource tags (AWS, Azure) or labels (GCP).
pub(crate) fn tag(provider: Provider, key: &str, value: &str) -> Check {
    if provider == Provider::Gke {
        let ok = |s: &str| s.chars().all(|c| lower_alnum(c) || matches!(c, '-' | '_'));
        length(key, 63).map_err(|r| format!("key {r}"))?;
        if !key.starts_with(|c: char| c.is_ascii_lowercase()) || !ok(key) {
            return Err(format!("gcp label key {key:?} must start with a lowercase letter and hold only lowercase letters, digits, '-' and '_'"));
        }
        if value.len() > 63 || !ok(value) {
            return Err(format!("gcp label value {value:?} must be at most 63 lowercase letters, digits, '-' and '_'"));
        }
        return Ok(());
    }
    length(key, 128).map_err(|r| format!("tag key {r}"))?;
    if provider == Provider::Eks && key.starts_with("aws:") {
        return Err(format!("tag key {key:?} uses the reserved aws: prefix"));
    }
    if value.len() > 256 {
        return Err(format!(
            "tag value must be at most 256 characters (is {})",
            value.len()
        ));
    }
    Ok(())
}

/// `prefix-` followed by 8 or 17 lowercase hex digits, as AWS ids (`vpc-0abc...`).
pub(crate) fn aws_id(prefix: &str, s: &str) -> Check {
    let ok = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        });
    ok.then_some(())
        .ok_or_else(|| format!("{s:?} is not a {prefix} id like {prefix}-0123456789abcdef0"))
}

/// An IAM role ARN: `arn:<partition>:iam::<12-digit account>:role/<name>`.
pub(crate) fn iam_role_arn(s: &str) -> Check {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty());
    ok.then_some(()).ok_or_else(|| {
        format!("{s:?} is not an iam role arn like arn:aws:iam::123456789012:role/name")
    })
}

/// A GCP project id: 6-30 lowercase letters, digits and '-', starting with a letter.
pub(crate) fn gcp_project(s: &str) -> Check {
    let (first, last) = first_last(s);
    let ok = (6..=30).contains(&s.len())
        && first.is_ascii_lowercase()
        && last != '-'
        && s.chars().all(|c| lower_alnum(c) || c == '-');
    ok.then_some(()).ok_or_else(|| {
        format!("{s:?} is not a gcp project id (6-30 lowercase letters, digits and '-', starting with a letter)")
    })
}

/// A GCP network or subnetwork name.
pub(crate) fn gcp_resource_name(s: &str) -> Check {
    let ok = s.starts_with(|c: char| c.is_ascii_lowercase()) && dns_label(s).is_ok();
    ok.then_some(()).ok_or_else(|| {
        format!("{s:?} is not a gcp resource name (lowercase letters, digits and '-', starting with a letter, at most 63 characters)")
    })
}

/// An Azure resource group name.
pub(crate) fn azure_resource_group(s: &str) -> Check {
    length(s, 90)?;
    let ok = !s.ends_with('.')
        && s.chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.' | '(' | ')'));
    ok.then_some(()).ok_or_else(|| {
        format!("{s:?} is not an azure resource group name (letters, digits, '-', '_', '.', '(' and ')', not ending with '.')")
    })
}

/// A UUID such as an Azure subscription id.
pub(crate) fn uuid(s: &str) -> Check {
    let groups: Vec<&str> = s.split('-').collect();
    let ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then_some(())
        .ok_or_else(|| format!("{s:?} is not a uuid like 00000000-0000-0000-0000-000000000000"))
}

/// A POSIX login name.
pub(crate) fn user(s: &str) -> Check {
    length(s, 32)?;
    let body = s.strip_suffix('$').unwrap_or(s);
    let ok = body.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && body
            .chars()
            .all(|c| lower_alnum(c) || matches!(c, '_' | '-' | '.'));
    ok.then_some(())
        .ok_or_else(|| format!("{s:?} is not a valid login name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_follow_kubernetes_qualified_names() {
        assert!(qualified_name("node.kubernetes.io/role").is_ok());
        assert!(qualified_name("team").is_ok());
        assert!(qualified_name("Example.com/x").is_err());
        assert!(qualified_name("-bad").is_err());
        assert!(qualified_name(&"a".repeat(64)).is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("a b").is_err());
    }

    #[test]
    fn regions_follow_each_cloud() {
        assert!(region(Provider::Eks, "us-gov-west-1").is_ok());
        assert!(region(Provider::Eks, "us-central1").is_err());
        assert!(region(Provider::Gke, "europe-west4-b").is_ok());
        assert!(region(Provider::Gke, "us-west-2").is_err());
        assert!(region(Provider::Aks, "westeurope").is_ok());
        assert!(region(Provider::Aks, "West Europe").is_err());
    }

    #[test]
    fn cloud_ids_are_recognised() {
        assert!(aws_id("vpc", "vpc-0123456789abcdef0").is_ok());
        assert!(aws_id("subnet", "subnet-12345678").is_ok());
        assert!(aws_id("vpc", "vpc-xyz").is_err());
        assert!(iam_role_arn("arn:aws-us-gov:iam::123456789012:role/eks/x").is_ok());
        assert!(iam_role_arn("arn:aws:iam::1234:role/x").is_err());
        assert!(uuid("6f1b7c2e-8d3a-4a5b-9c1d-2e3f4a5b6c7d").is_ok());
        assert!(uuid("6f1b7c2e8d3a4a5b9c1d2e3f4a5b6c7d").is_err());
    }
}
