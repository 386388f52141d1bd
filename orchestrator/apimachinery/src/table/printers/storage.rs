//! PersistentVolumeClaims and ResourceQuotas.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{age, col, name, wide, Col, Row, AGE, NAME};
use crate::table::value::{list, opt_text, text};

pub(crate) const PVC_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Status",
        "string",
        "phase represents the current phase of PersistentVolumeClaim.",
    ),
    col(
        "Volume",
        "string",
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col(
        "Capacity",
        "string",
        "capacity represents the actual resources of the underlying volume.",
    ),
    col(
        "Access Modes",
        "string",
        "accessModes contains the actual access modes the volume backing the PVC has.",
    ),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pvc",
    ),
    AGE,
    wide(
        "VolumeMode",
        "string",
        "volumeMode defines what type of volume is required by the claim.",
    ),
];

/// `RWO,ROX,RWX,RWOP` in upstream's fixed order (`GetAccessModesAsString`).
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

pub(crate) fn pvc_row(pvc: &Value, now: OffsetDateTime) -> Row {
    let deleting = pvc
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    let phase = if deleting {
        "Terminating"
    } else {
        text(pvc, "/status/phase")
    };
    let volume = text(pvc, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            text(pvc, "/status/capacity/storage").to_owned(),
            access_modes(list(pvc, "/status/accessModes")),
        )
    };
    let class = pvc
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str)
        .or_else(|| {
            pvc.pointer("/spec/storageClassName")
                .and_then(Value::as_str)
        })
        .unwrap_or("");
    vec![
        name(pvc),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(class),
        json!(opt_text(pvc, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        json!(age(pvc, now)),
        json!(opt_text(pvc, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
    .into()
}

pub(crate) const QUOTA_COLUMNS: &[Col] = &[
    NAME,
    col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
    col("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
    AGE,
];

/// `requests.cpu: 100m/1, pods: 2/10` and `limits.memory: 0/2Gi`, resources sorted by name.
pub(crate) fn quota_row(quota: &Value, now: OffsetDateTime) -> Row {
    let mut resources: Vec<&String> = quota
        .pointer("/status/hard")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
        .collect();
    resources.sort();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for resource in resources {
        let quantity = |part: &str| {
            quota
                .pointer(&format!("/status/{part}"))
                .and_then(|m| m.get(resource.as_str()))
                .and_then(Value::as_str)
                .unwrap_or("0")
        };
        let entry = format!("{resource}: {}/{}", quantity("used"), quantity("hard"));
        if resource
            .split_once('.')
            .is_some_and(|(prefix, _)| prefix == "limits")
        {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![
        name(quota),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        json!(age(quota, now)),
    ]
    .into()
}
