//! The clusterd API server: a Kubernetes-compatible HTTPS API over the clusterd datastore, built so
//! that real kubectl and client libraries cannot tell it from kube-apiserver.
//!
//! [`ApiServer::start`] loads or generates the PKI, opens and seeds the store and writes the admin
//! kubeconfig; [`ApiServer::serve`] answers requests until shutdown. Each request is authenticated
//! ([`authn`]), authorized by RBAC ([`authz`]), parsed into a [`request_info::RequestInfo`] and
//! handled over the store with the API machinery of `clusterd-apimachinery`.

// Handlers return `StatusError` (160 bytes), which is the error response itself and travels at most
// a few frames up; boxing it on every path would buy nothing.
#![allow(clippy::result_large_err)]

pub mod authn;
pub mod authz;
pub mod endpoint_reconciler;
mod error;
pub mod handlers;
pub mod http;
pub mod metrics;
pub mod node_client;
pub mod objects;
pub mod protobuf;
pub mod rbac_sync;
pub mod request_info;
pub mod seed;
mod server;
pub mod state;
pub mod storage;
pub mod tls;

pub use error::{Error, Result};
pub use server::{ApiServer, ServerConfig};
