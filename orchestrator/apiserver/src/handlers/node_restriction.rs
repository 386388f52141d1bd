//! Upstream's NodeRestriction: a node's credentials (`system:node:<name>` in `system:nodes`) may
//! change only its own Node, its own Lease and the pods bound to it.

use clusterd_apimachinery::status::StatusError;
use serde_json::Value;

use super::context::{decode_body, text, Ctx};
use crate::objects;

/// The node a user acts for, if it is a node.
pub fn node_of(ctx: &Ctx<'_>) -> Option<String> {
    let name = ctx.user.name.strip_prefix("system:node:")?;
    ctx.user.in_group("system:nodes").then(|| name.to_owned())
}

fn refuse(ctx: &Ctx<'_>, node: &str, name: &str, what: &str) -> StatusError {
    StatusError::forbidden(
        &ctx.target.resource,
        &ctx.target.group,
        name,
        &format!("node \"{node}\" {what}"),
    )
}

/// Refuses writes by a node outside its own objects; other users and resources pass.
pub async fn check(ctx: &Ctx<'_>, body: &[u8], media: &str) -> Result<(), StatusError> {
    let Some(node) = node_of(ctx) else {
        return Ok(());
    };
    let verb = ctx.info.verb.as_str();
    if !matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    ) {
        return Ok(());
    }
    let body_name = || -> String {
        decode_body(body, media)
            .ok()
            .map(|b| text(&b, "/metadata/name").to_owned())
            .unwrap_or_default()
    };
    let name = if verb == "create" && ctx.info.name.is_empty() {
        body_name()
    } else {
        ctx.info.name.clone()
    };
    match (ctx.target.group.as_str(), ctx.target.resource.as_str()) {
        ("", "nodes") if name != node || verb == "deletecollection" => {
            Err(refuse(ctx, &node, &name, "is not allowed to modify node"))
        }
        ("coordination.k8s.io", "leases")
            if ctx.info.namespace == "kube-node-lease"
                && (name != node || verb == "deletecollection") =>
        {
            Err(refuse(ctx, &node, &name, "is not allowed to modify lease"))
        }
        ("", "pods") => {
            if verb == "deletecollection" {
                return Err(refuse(
                    ctx,
                    &node,
                    "",
                    "is not allowed to delete pods in bulk",
                ));
            }
            if verb == "create" && ctx.info.subresource.is_empty() {
                let pod = decode_body(body, media).unwrap_or(Value::Null);
                let mirror = pod
                    .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
                    .is_some();
                if mirror && text(&pod, "/spec/nodeName") == node {
                    return Ok(());
                }
                return Err(refuse(
                    ctx,
                    &node,
                    &name,
                    "can only create mirror pods bound to itself",
                ));
            }
            let existing = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &name).await?;
            match existing {
                Some(pod) if text(&pod.object, "/spec/nodeName") == node => Ok(()),
                Some(_) => Err(refuse(
                    ctx,
                    &node,
                    &name,
                    "can only modify pods with spec.nodeName set to itself",
                )),
                None => Err(ctx.not_found()),
            }
        }
        _ => Ok(()),
    }
}
