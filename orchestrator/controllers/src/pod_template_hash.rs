//! The `pod-template-hash` label: FNV-32a over the pod template (and the collision count), in
//! upstream's "safe" alphabet so it never spells words.

use k8s_openapi::api::core::v1::PodTemplateSpec;

/// Label a Deployment puts on its ReplicaSets and their pods.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Hash of a template; `collision_count` changes it when two templates hash alike (upstream `ComputeHash`).
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut template = template.clone();
    // The hash label itself never influences the hash.
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let bytes = serde_json::to_vec(&template).unwrap_or_default();
    let mut hash = fnv32a(0x811c9dc5, &bytes);
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &(count as u32).to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Upstream `rand.SafeEncodeString`: maps each byte into consonants and digits without vowels
/// or look-alikes.
pub fn safe_encode(text: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    text.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// Whether two templates are equal ignoring the hash label (upstream `EqualIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH_LABEL);
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(0x811c9dc5, b""), 0x811c9dc5);
        assert_eq!(fnv32a(0x811c9dc5, b"a"), 0xe40c292c);
        assert_eq!(fnv32a(0x811c9dc5, b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encoding_uses_only_the_upstream_alphabet() {
        // Digits 0-9 are bytes 48-57; 48 % 27 = 21 is the 22nd symbol, '4'.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn hash_changes_with_the_template_and_collision_count_but_not_the_hash_label() {
        let template: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})).unwrap();
        let mut other = template.clone();
        other.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
        let mut labelled = template.clone();
        labelled
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(POD_TEMPLATE_HASH_LABEL.into(), "x".into());
        let h = compute_hash(&template, None);
        assert!(!h.is_empty() && h.len() <= 10);
        assert_ne!(h, compute_hash(&other, None));
        assert_ne!(h, compute_hash(&template, Some(1)));
        assert_eq!(h, compute_hash(&labelled, None));
        assert!(equal_ignore_hash(&template, &labelled));
    }
}
