//! Events (core/v1 and events.k8s.io/v1, which upstream prints with the same printer).

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{col, wide, Col, Row, NAME_DOC};
use crate::table::age::since;
use crate::table::value::{int, opt_text, text};

pub(crate) const COLUMNS: &[Col] = &[
    col("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
    col("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "string", "The object that this event is about."),
    wide("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."),
    wide("Source", "string", "The component reporting this event. Should be a short machine understandable string."),
    col("Message", "string", "A human-readable description of the status of this operation."),
    wide("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
    wide("Count", "string", "The number of times this event has occurred."),
    Col("Name", "string", "name", NAME_DOC, 1),
];

/// Field locations of the two event shapes.
struct Shape {
    reference: &'static str,
    message: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
    source_component: &'static str,
    source_host: &'static str,
}

const CORE: Shape = Shape {
    reference: "/involvedObject",
    message: "/message",
    first: "/firstTimestamp",
    last: "/lastTimestamp",
    count: "/count",
    source_component: "/source/component",
    source_host: "/source/host",
};

const EVENTS_V1: Shape = Shape {
    reference: "/regarding",
    message: "/note",
    first: "/deprecatedFirstTimestamp",
    last: "/deprecatedLastTimestamp",
    count: "/deprecatedCount",
    source_component: "/deprecatedSource/component",
    source_host: "/deprecatedSource/host",
};

pub(crate) fn row(event: &Value, now: OffsetDateTime) -> Row {
    let shape = if event.get("regarding").is_some() || event.get("note").is_some() {
        EVENTS_V1
    } else {
        CORE
    };
    let first = match opt_text(event, shape.first) {
        Some(t) => since(Some(t), now),
        None => since(opt_text(event, "/eventTime"), now),
    };
    let mut last = match opt_text(event, shape.last) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int(event, shape.count);
    if event.get("series").is_some_and(Value::is_object) {
        last = since(opt_text(event, "/series/lastObservedTime"), now);
        count = int(event, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = text(event, &format!("{}/kind", shape.reference)).to_ascii_lowercase();
    let target = match opt_text(event, &format!("{}/name", shape.reference)) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let component = opt_text(event, shape.source_component)
        .unwrap_or_else(|| text(event, "/reportingController"));
    let instance =
        opt_text(event, shape.source_host).unwrap_or_else(|| text(event, "/reportingInstance"));
    let source = if instance.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(text(event, "/type")),
        json!(text(event, "/reason")),
        json!(target),
        json!(text(event, &format!("{}/fieldPath", shape.reference))),
        json!(source),
        json!(text(event, shape.message).trim()),
        json!(first),
        json!(count),
        json!(text(event, "/metadata/name")),
    ]
    .into()
}
