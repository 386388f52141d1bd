//! Rolling-update arithmetic of the Deployment controller, on replica counts only: one pass of
//! upstream's `rolloutRolling` (scale the new ReplicaSet up within maxSurge, else scale old ones
//! down within maxUnavailable).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Desired and available replicas of one ReplicaSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// Resolves maxSurge (percent rounds up) and maxUnavailable (percent rounds down) against the
/// desired replicas; both zero becomes maxUnavailable 1, as upstream.
pub fn resolve_fenceposts(
    desired: i32,
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
) -> (i32, i32) {
    let resolve = |value: Option<&IntOrString>, default_percent: i32, round_up: bool| -> i32 {
        match value {
            Some(IntOrString::Int(n)) => *n,
            Some(IntOrString::String(s)) => {
                let percent = s
                    .trim_end_matches('%')
                    .parse::<i64>()
                    .unwrap_or(i64::from(default_percent));
                let scaled = percent * i64::from(desired);
                (if round_up {
                    (scaled + 99) / 100
                } else {
                    scaled / 100
                }) as i32
            }
            None => {
                let scaled = i64::from(default_percent) * i64::from(desired);
                (if round_up {
                    (scaled + 99) / 100
                } else {
                    scaled / 100
                }) as i32
            }
        }
    };
    let surge = resolve(max_surge, 25, true).max(0);
    let unavailable = resolve(max_unavailable, 25, false).max(0);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable.min(desired.max(0)))
}

/// One rolling-update pass: the new sizes of the new ReplicaSet and of the old ones (oldest first).
pub fn rolling_step(
    desired: i32,
    max_surge: i32,
    max_unavailable: i32,
    new: Sizes,
    old: &[Sizes],
) -> (i32, Vec<i32>) {
    let mut old_sizes: Vec<i32> = old.iter().map(|s| s.replicas).collect();
    if new.replicas > desired {
        return (desired, old_sizes);
    }
    let old_total: i32 = old_sizes.iter().sum();
    let total = new.replicas + old_total;
    let max_total = desired + max_surge;
    if total < max_total && new.replicas < desired {
        let up = (max_total - total).min(desired - new.replicas);
        return (new.replicas + up, old_sizes);
    }
    if old_total == 0 {
        return (new.replicas, old_sizes);
    }
    let min_available = desired - max_unavailable;
    let new_unavailable = new.replicas - new.available;
    let max_scaled_down = total - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return (new.replicas, old_sizes);
    }
    // First drop old replicas that are not available anyway.
    let mut cleaned = 0;
    for (size, s) in old_sizes.iter_mut().zip(old) {
        let unhealthy = (s.replicas - s.available).max(0);
        let cut = unhealthy.min(max_scaled_down - cleaned).min(*size);
        *size -= cut;
        cleaned += cut;
        if cleaned >= max_scaled_down {
            break;
        }
    }
    if cleaned > 0 {
        return (new.replicas, old_sizes);
    }
    // Then scale down available old replicas while keeping minAvailable.
    let available_total = new.available + old.iter().map(|s| s.available).sum::<i32>();
    let mut budget = (available_total - min_available).min(max_scaled_down);
    for size in old_sizes.iter_mut() {
        if budget <= 0 {
            break;
        }
        let cut = (*size).min(budget);
        *size -= cut;
        budget -= cut;
    }
    (new.replicas, old_sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs passes until nothing changes, assuming every pod becomes available between passes.
    fn simulate(desired: i32, surge: i32, unavailable: i32, start_old: i32) -> Vec<(i32, i32)> {
        let (mut new, mut old) = (0, start_old);
        let mut steps = Vec::new();
        for _ in 0..50 {
            let (n, o) = rolling_step(
                desired,
                surge,
                unavailable,
                Sizes {
                    replicas: new,
                    available: new,
                },
                &[Sizes {
                    replicas: old,
                    available: old,
                }],
            );
            if (n, o[0]) == (new, old) {
                break;
            }
            (new, old) = (n, o[0]);
            steps.push((new, old));
        }
        steps
    }

    #[test]
    fn three_replicas_surge_one_unavailable_zero_steps_one_pod_at_a_time() {
        assert_eq!(
            simulate(3, 1, 0, 3),
            vec![(1, 3), (1, 2), (2, 2), (2, 1), (3, 1), (3, 0)]
        );
    }

    #[test]
    fn unavailable_one_surge_zero_scales_down_before_up() {
        assert_eq!(
            simulate(3, 0, 1, 3),
            vec![(0, 2), (1, 2), (1, 1), (2, 1), (2, 0), (3, 0)]
        );
    }

    #[test]
    fn defaults_of_25_percent_round_surge_up_and_unavailable_down() {
        let cases = [(4, (1, 1)), (10, (3, 2)), (1, (1, 0)), (3, (1, 0))];
        for (desired, want) in cases {
            assert_eq!(
                resolve_fenceposts(desired, None, None),
                want,
                "desired {desired}"
            );
        }
        assert_eq!(
            resolve_fenceposts(3, Some(&IntOrString::Int(0)), Some(&IntOrString::Int(0))),
            (0, 1)
        );
        assert_eq!(
            resolve_fenceposts(
                10,
                Some(&IntOrString::String("50%".into())),
                Some(&IntOrString::String("10%".into()))
            ),
            (5, 1)
        );
    }

    #[test]
    fn new_pods_not_yet_available_block_further_scale_down() {
        // New RS got 1 pod that is not available yet: no old pod may go with maxUnavailable 0.
        let (n, o) = rolling_step(
            3,
            1,
            0,
            Sizes {
                replicas: 1,
                available: 0,
            },
            &[Sizes {
                replicas: 3,
                available: 3,
            }],
        );
        assert_eq!((n, o), (1, vec![3]));
    }

    #[test]
    fn unavailable_old_replicas_are_removed_first() {
        let (n, o) = rolling_step(
            3,
            1,
            0,
            Sizes {
                replicas: 1,
                available: 1,
            },
            &[Sizes {
                replicas: 3,
                available: 2,
            }],
        );
        assert_eq!((n, o), (1, vec![2]));
    }
}
