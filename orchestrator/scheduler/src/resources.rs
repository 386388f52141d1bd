//! Resource quantities (`100m`, `1Gi`, `2`) and the cpu/memory/pods triple the scheduler compares.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::{Error, Result};

/// CPU requested when a container sets none, for scoring only (upstream `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory requested when a container sets none, for scoring only (upstream `DefaultMemoryRequest`).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// CPU in millicores, memory in bytes and a pod count: what a node offers or a pod asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU in thousandths of a core.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Number of pods.
    pub pods: i64,
}

impl Resources {
    /// Adds `other` to these resources.
    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.pods += other.pods;
    }

    /// Subtracts `other` from these resources.
    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.pods -= other.pods;
    }

    /// Reads `cpu`, `memory` and `pods` from a resource list (node allocatable or container requests).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Result<Resources> {
        let get = |name: &str, milli: bool| -> Result<i64> {
            match list.get(name) {
                Some(quantity) => parse_quantity(&quantity.0, milli),
                None => Ok(0),
            }
        };
        Ok(Resources {
            milli_cpu: get("cpu", true)?,
            memory: get("memory", false)?,
            pods: get("pods", false)?,
        })
    }
}

/// What a pod asks for: the exact requests (filtering) and requests with defaults for unset cpu and
/// memory (scoring), both counting the pod itself as one pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// Sum of container requests, max'd with each init container, plus overhead.
    pub exact: Resources,
    /// Like `exact`, but a container with no cpu/memory request counts the upstream defaults.
    pub non_zero: Resources,
}

/// Computes a pod's requests as upstream does: sum of containers, at least the largest init
/// container, plus `spec.overhead`.
pub fn pod_requests(pod: &Pod) -> Result<PodRequests> {
    let mut exact = Resources::default();
    let mut non_zero = Resources::default();
    let Some(spec) = &pod.spec else {
        return Ok(PodRequests {
            exact: Resources { pods: 1, ..exact },
            non_zero: Resources {
                pods: 1,
                ..non_zero
            },
        });
    };
    let container_requests =
        |c: &k8s_openapi::api::core::v1::Container| -> Result<(Resources, Resources)> {
            let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
            let r = match requests {
                Some(list) => Resources::from_list(list)?,
                None => Resources::default(),
            };
            let has = |name: &str| requests.is_some_and(|l| l.contains_key(name));
            let nz = Resources {
                milli_cpu: if has("cpu") {
                    r.milli_cpu
                } else {
                    DEFAULT_MILLI_CPU_REQUEST
                },
                memory: if has("memory") {
                    r.memory
                } else {
                    DEFAULT_MEMORY_REQUEST
                },
                pods: 0,
            };
            Ok((r, nz))
        };
    for container in &spec.containers {
        let (r, nz) = container_requests(container)?;
        exact.add(&r);
        non_zero.add(&nz);
    }
    for container in spec.init_containers.iter().flatten() {
        let (r, nz) = container_requests(container)?;
        exact.milli_cpu = exact.milli_cpu.max(r.milli_cpu);
        exact.memory = exact.memory.max(r.memory);
        non_zero.milli_cpu = non_zero.milli_cpu.max(nz.milli_cpu);
        non_zero.memory = non_zero.memory.max(nz.memory);
    }
    if let Some(overhead) = &spec.overhead {
        let o = Resources::from_list(overhead)?;
        exact.add(&o);
        non_zero.add(&o);
    }
    exact.pods = 1;
    non_zero.pods = 1;
    Ok(PodRequests { exact, non_zero })
}

/// Parses a Kubernetes quantity; `milli` returns thousandths (for cpu), rounding up like upstream's
/// `MilliValue`, otherwise whole units rounded up like `Value`.
pub fn parse_quantity(text: &str, milli: bool) -> Result<i64> {
    let invalid = || Error::InvalidQuantity {
        quantity: text.to_string(),
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    // Decimal exponents (`1e3`) are rare in requests; treat `e`/`E` followed by digits as one.
    let (multiplier_num, multiplier_den, exp10): (i128, i128, i32) = match suffix {
        "" => (1, 1, 0),
        "m" => (1, 1000, 0),
        "k" => (1000, 1, 0),
        "M" => (1_000_000, 1, 0),
        "G" => (1_000_000_000, 1, 0),
        "T" => (1_000_000_000_000, 1, 0),
        "P" => (1_000_000_000_000_000, 1, 0),
        "E" => (1_000_000_000_000_000_000, 1, 0),
        "Ki" => (1 << 10, 1, 0),
        "Mi" => (1 << 20, 1, 0),
        "Gi" => (1 << 30, 1, 0),
        "Ti" => (1 << 40, 1, 0),
        "Pi" => (1 << 50, 1, 0),
        "Ei" => (1 << 60, 1, 0),
        s if s.starts_with(['e', 'E']) => (1, 1, s[1..].parse::<i32>().map_err(|_| invalid())?),
        _ => return Err(invalid()),
    };
    if number.is_empty() {
        return Err(invalid());
    }
    let negative = number.starts_with('-');
    let digits = number.trim_start_matches(['+', '-']);
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !(int_part.chars().chain(frac_part.chars())).all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    // value = mantissa / 10^frac_len * num / den * 10^exp10 * (1000 if milli)
    let mantissa: i128 = format!("{int_part}{frac_part}")
        .trim_start_matches('0')
        .parse::<i128>()
        .unwrap_or(0);
    let mut numerator = mantissa * multiplier_num * if milli { 1000 } else { 1 };
    let mut denominator = multiplier_den * 10i128.pow(frac_part.len() as u32);
    if exp10 >= 0 {
        numerator = numerator
            .checked_mul(10i128.checked_pow(exp10 as u32).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
    } else {
        denominator = denominator
            .checked_mul(10i128.checked_pow((-exp10) as u32).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
    }
    let value = (numerator + denominator - 1) / denominator;
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_like_upstream() {
        let cases = [
            ("100m", true, 100),
            ("1", true, 1000),
            ("0.5", true, 500),
            ("2", false, 2),
            ("1Gi", false, 1 << 30),
            ("128Mi", false, 128 << 20),
            ("1k", false, 1000),
            ("1500M", false, 1_500_000_000),
            ("1e3", false, 1000),
            ("110", false, 110),
            ("0.1", false, 1),
        ];
        for (text, milli, want) in cases {
            assert_eq!(parse_quantity(text, milli).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn garbage_quantity_is_an_error_naming_it() {
        let err = parse_quantity("12xy", false).unwrap_err();
        assert_eq!(err.to_string(), "invalid resource quantity \"12xy\"");
        assert!(parse_quantity("", true).is_err());
    }

    #[test]
    fn pod_requests_count_defaults_only_for_scoring() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {"containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m"}}},
                {"name": "b"}
            ], "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]}
        }))
        .unwrap();
        let requests = pod_requests(&pod).unwrap();
        assert_eq!(
            requests.exact,
            Resources {
                milli_cpu: 2000,
                memory: 1 << 30,
                pods: 1
            }
        );
        assert_eq!(requests.non_zero.milli_cpu, 2000);
        assert_eq!(
            requests.non_zero.memory,
            (1 << 30).max(2 * DEFAULT_MEMORY_REQUEST)
        );
    }
}
