//! Builders for unit tests: objects from JSON, a state with a fixed clock.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::state::ClusterState;

/// A state at `2026-01-01T00:00:00Z` holding the given (kind, object) pairs.
pub fn state(objects: Vec<(&str, Value)>) -> ClusterState {
    let mut state = ClusterState {
        now: "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
        ..ClusterState::default()
    };
    for (kind, object) in objects {
        assert!(
            state.upsert(kind, object),
            "test object of kind {kind} decodes"
        );
    }
    state
}

/// A typed object from JSON.
pub fn object<K: serde::de::DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).unwrap()
}

/// Deep-merges `extra` into `base` (objects merge, other values replace).
pub fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}
