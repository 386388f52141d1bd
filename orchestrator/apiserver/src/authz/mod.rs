//! May this user do this: RBAC over Roles, ClusterRoles and their bindings (upstream's
//! `rbac` authorizer), with the bootstrap policy created at first start.

mod bootstrap_policy;
mod rbac;
mod rule;

pub use bootstrap_policy::{bootstrap_objects, BOOTSTRAP_ROLE_NAMES};
pub use rbac::{Rbac, RbacKind};
pub use rule::PolicyRule;

use crate::authn::UserInfo;
use crate::request_info::RequestInfo;

/// The group whose members may do everything, without consulting RBAC (upstream's
/// `system:masters` privileged group).
pub const MASTERS_GROUP: &str = "system:masters";

/// What a request wants to do, as authorization sees it (upstream's `authorizer.Attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// The caller.
    pub user: UserInfo,
    /// The Kubernetes verb (or lowercase HTTP method for non-resource paths).
    pub verb: String,
    /// Whether a resource is addressed (else `path` is).
    pub resource_request: bool,
    /// The API group.
    pub api_group: String,
    /// The resource (plural).
    pub resource: String,
    /// The subresource.
    pub subresource: String,
    /// The object name (empty for collections).
    pub name: String,
    /// The namespace (empty for cluster scope).
    pub namespace: String,
    /// The path, for non-resource requests.
    pub path: String,
}

impl Attributes {
    /// The attributes of a parsed request by `user`; `name` is the authorization name (see
    /// [`RequestInfo::authorization_name`]).
    pub fn from_request(user: &UserInfo, info: &RequestInfo, name: String) -> Self {
        Self {
            user: user.clone(),
            verb: info.verb.clone(),
            resource_request: info.is_resource_request,
            api_group: info.api_group.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            name,
            namespace: info.namespace.clone(),
            path: info.path.clone(),
        }
    }
}
