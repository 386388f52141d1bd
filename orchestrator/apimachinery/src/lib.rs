//! Kubernetes API machinery without IO, in the spirit of kube-core: what the clusterd API server needs
//! to know about objects, independent of HTTP and storage.
//!
//! - [`registry`]: every served resource (group, version, kind, plural, singular, short names,
//!   categories, verbs, scope, subresources) — the source of discovery and routing;
//! - [`selectors`]: label and field selectors, parsed and matched;
//! - [`status`]: `metav1.Status` errors as upstream words them;
//! - [`table`]: `kubectl get` Table conversion with upstream's columns;
//! - [`patch`]: JSON patch, merge patch and strategic merge patch;
//! - [`validation`] and [`defaulting`]: what upstream checks and fills in for built-in types.

pub mod defaulting;
pub mod patch;
pub mod registry;
pub mod selectors;
pub mod status;
pub mod table;
pub mod validation;
