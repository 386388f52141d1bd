//! Waiting until every node container has a Node object whose Ready condition is True.

use clusterctl_steps::{wait_for, BoxFuture, Ctx, Step, StepResult};
use k8s_openapi::api::core::v1::Node;

use crate::admin::{self, AdminCredentials};
use crate::docker_node::DockerNode;
use crate::names::Role;
use crate::plan::LocalCluster;
use crate::steps::server::{log_tail, server_runs_agent, POLL};
use crate::{Error, Result};

/// Where the nodes of a cluster stand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Nodes whose Ready condition is True.
    pub ready: Vec<String>,
    /// Nodes that are not, with why: "not registered yet" or the Ready condition's reason and message.
    pub not_ready: Vec<(String, String)>,
}

impl Readiness {
    /// Compares the node containers `expected` with the Node objects the API server has.
    pub fn of(expected: &[String], nodes: &[Node]) -> Self {
        let mut readiness = Self::default();
        for name in expected {
            let found = nodes
                .iter()
                .find(|node| node.metadata.name.as_deref() == Some(name.as_str()));
            let condition = found
                .and_then(|node| node.status.as_ref())
                .and_then(|status| status.conditions.as_ref())
                .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"));
            match (found, condition) {
                (None, _) => readiness
                    .not_ready
                    .push((name.clone(), "not registered yet".to_owned())),
                (Some(_), None) => readiness.not_ready.push((
                    name.clone(),
                    "registered, no Ready condition yet".to_owned(),
                )),
                (Some(_), Some(ready)) if ready.status == "True" => {
                    readiness.ready.push(name.clone());
                }
                (Some(_), Some(ready)) => {
                    let why = [ready.reason.as_deref(), ready.message.as_deref()]
                        .into_iter()
                        .flatten()
                        .filter(|text| !text.is_empty())
                        .collect::<Vec<_>>()
                        .join(": ");
                    let why = if why.is_empty() {
                        format!("Ready={}", ready.status)
                    } else {
                        format!("Ready={} ({why})", ready.status)
                    };
                    readiness.not_ready.push((name.clone(), why));
                }
            }
        }
        readiness
    }

    /// Whether every expected node is Ready.
    pub fn is_complete(&self) -> bool {
        self.not_ready.is_empty()
    }

    /// `2/3 nodes Ready: dev-agent-1 not registered yet`.
    pub fn summary(&self) -> String {
        let total = self.ready.len() + self.not_ready.len();
        let mut line = format!("{}/{total} nodes Ready", self.ready.len());
        if !self.not_ready.is_empty() {
            let waiting: Vec<String> = self
                .not_ready
                .iter()
                .map(|(name, why)| format!("{name} {why}"))
                .collect();
            line.push_str(": ");
            line.push_str(&waiting.join(", "));
        }
        line
    }
}

/// Waits for every node of the cluster to be Ready, showing which are not and why.
#[derive(Debug, Clone)]
pub struct WaitNodesReady {
    cluster: LocalCluster,
}

impl WaitNodesReady {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn expected(&self) -> Vec<String> {
        self.cluster
            .nodes()
            .into_iter()
            .map(|(role, index)| self.cluster.node_name(role, index))
            .collect()
    }

    /// The nodes that will register: every node, or only the agents when this clusterd server
    /// runs no node agent of its own (it has no `--node-name` yet).
    async fn registering(&self, ctx: &Ctx) -> Vec<String> {
        let server = self.cluster.node_name(Role::Server, 0);
        if server_runs_agent(&DockerNode::new(self.cluster.docker.clone(), server)).await {
            return self.expected();
        }
        ctx.progress(
            "this clusterd server runs no node agent of its own (no --node-name): waiting for the agents only",
        );
        self.cluster
            .nodes()
            .into_iter()
            .filter(|(role, _)| *role == Role::Agent)
            .map(|(role, index)| self.cluster.node_name(role, index))
            .collect()
    }

    async fn readiness(
        &self,
        credentials: &AdminCredentials,
        expected: &[String],
    ) -> Result<Readiness> {
        let client = credentials.client().await?;
        let nodes = kube::Api::<Node>::all(client)
            .list(&kube::api::ListParams::default())
            .await
            .map_err(|e| credentials.api_error("list nodes", clusterctl_steps::error_chain(&e)))?;
        Ok(Readiness::of(expected, &nodes.items))
    }

    /// What the user reads when the wait ends without every node Ready.
    async fn not_ready_report(
        &self,
        credentials: &AdminCredentials,
        expected: &[String],
        waited: String,
    ) -> Error {
        let mut detail = waited;
        match self.readiness(credentials, expected).await {
            Ok(readiness) => {
                for (name, why) in &readiness.not_ready {
                    detail.push_str(&format!(
                        "\nnode {name}: {why}; last lines of its clusterd log (`docker logs {name}`):\n{}",
                        log_tail(&self.cluster, name).await
                    ));
                }
            }
            Err(error) => detail.push_str(&format!("\n{error}")),
        }
        Error::NotReady { detail }
    }
}

impl Step for WaitNodesReady {
    fn title(&self) -> String {
        let count = self.cluster.servers + self.cluster.agents;
        format!(
            "Waiting for {count} node{} to be Ready",
            if count == 1 { "" } else { "s" }
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            if ctx.is_dry_run() {
                ctx.progress(format!(
                    "Would wait for nodes {}",
                    self.expected().join(", ")
                ));
                return Ok(());
            }
            let credentials = match ctx.extensions().get::<AdminCredentials>() {
                Some(credentials) => credentials,
                None => admin::read(self.cluster.docker.clone(), &self.cluster.name).await?,
            };
            let expected = self.registering(ctx).await;
            let waited = wait_for(
                ctx,
                "every node to be Ready",
                self.cluster.wait,
                POLL,
                || async {
                    let readiness = self.readiness(&credentials, &expected).await?;
                    if readiness.is_complete() {
                        Ok(readiness)
                    } else {
                        Err(Error::NotReady {
                            detail: readiness.summary(),
                        })
                    }
                },
            )
            .await;
            match waited {
                Ok(Some(readiness)) => {
                    ctx.progress(readiness.summary());
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(error) if ctx.is_cancelled() => Err(error.into()),
                Err(error) => Err(self
                    .not_ready_report(&credentials, &expected, error.to_string())
                    .await
                    .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use kube::api::ObjectMeta;

    fn node(name: &str, ready: Option<(&str, &str)>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            status: Some(NodeStatus {
                conditions: ready.map(|(status, message)| {
                    vec![NodeCondition {
                        type_: "Ready".into(),
                        status: status.into(),
                        reason: Some("KubeletNotReady".into()).filter(|_| status != "True"),
                        message: Some(message.into()),
                        ..NodeCondition::default()
                    }]
                }),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    #[test]
    fn readiness_names_each_node_that_is_not_ready_and_why() {
        let expected = ["dev-server-0", "dev-agent-0", "dev-agent-1"].map(String::from);
        let nodes = [
            node(
                "dev-server-0",
                Some(("True", "kubelet is posting ready status")),
            ),
            node(
                "dev-agent-0",
                Some(("False", "container runtime network not ready")),
            ),
            node("someone-else", Some(("True", ""))),
        ];
        let readiness = Readiness::of(&expected, &nodes);
        assert!(!readiness.is_complete());
        assert_eq!(
            readiness.summary(),
            "1/3 nodes Ready: dev-agent-0 Ready=False (KubeletNotReady: container runtime network not ready), dev-agent-1 not registered yet"
        );
    }

    #[test]
    fn every_node_ready_is_complete() {
        let expected = ["dev-server-0".to_owned()];
        let readiness = Readiness::of(&expected, &[node("dev-server-0", Some(("True", "")))]);
        assert!(readiness.is_complete());
        assert_eq!(readiness.summary(), "1/1 nodes Ready");
    }
}
