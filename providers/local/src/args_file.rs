//! How clusterd is started in a node: the node image's entrypoint waits for
//! `/etc/clusterctl/clusterd.args` (one argument per line) and then execs clusterd with them.
//! Writing that file is what starts a server or joins an agent; it stays in the container, so a
//! restarted node starts clusterd the same way, and its presence marks the step done.

use crate::admin::DATA_DIR;
use clusterctl_provider_api::Node as _;

use crate::docker_node::DockerNode;
use crate::node::API_PORT;
use crate::Result;

/// The args file the entrypoint reads.
pub const ARGS_FILE: &str = "/etc/clusterctl/clusterd.args";
/// The directory holding it.
pub const ARGS_DIR: &str = "/etc/clusterctl";

/// The arguments of the first server node `node`, reachable at `address` on the cluster network.
/// `node_name` adds `--node-name <node>`, for a clusterd server that has the flag.
pub fn server_args(cluster: &str, node: &str, address: &str, node_name: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "server",
        "--data-dir",
        DATA_DIR,
        "--advertise-address",
        address,
        "--tls-san",
        "127.0.0.1",
        "--tls-san",
        "localhost",
        "--tls-san",
        node,
        "--cluster-name",
        cluster,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    if node_name {
        args.extend(["--node-name".to_owned(), node.to_owned()]);
    }
    args
}

/// What an agent needs to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCredentials {
    /// The bootstrap token `abcdef.0123456789abcdef`.
    pub token: String,
    /// `sha256:<hex>` of the CA's SubjectPublicKeyInfo.
    pub ca_hash: String,
}

/// The arguments of agent node `node` at `address`, joining the server at `server_address`.
pub fn agent_args(
    server_address: &str,
    join: &JoinCredentials,
    node: &str,
    address: &str,
) -> Vec<String> {
    vec![
        "agent".to_owned(),
        "--server".to_owned(),
        format!("https://{server_address}:{API_PORT}"),
        "--token".to_owned(),
        join.token.clone(),
        "--ca-cert-hash".to_owned(),
        join.ca_hash.clone(),
        "--node-name".to_owned(),
        node.to_owned(),
        "--node-ip".to_owned(),
        address.to_owned(),
    ]
}

/// `--registry-mirror REGISTRY=URL` for each mirror, for server and agent args alike.
pub fn mirror_args(mirrors: &[String]) -> Vec<String> {
    mirrors
        .iter()
        .flat_map(|spec| ["--registry-mirror".to_owned(), spec.clone()])
        .collect()
}

/// The args as the file holds them: one per line.
pub fn render(args: &[String]) -> String {
    let mut text = args.join("\n");
    text.push('\n');
    text
}

/// The arguments as a user would type them, with the token hidden, for progress and plans.
pub fn describe(args: &[String]) -> String {
    let mut shown = vec!["clusterd".to_owned()];
    let mut hide_next = false;
    for arg in args {
        shown.push(if hide_next {
            "<redacted>".to_owned()
        } else {
            arg.clone()
        });
        hide_next = arg == "--token";
    }
    shown.join(" ")
}

/// Writes `node`'s args file through the dry-run gate, which starts clusterd there.
pub async fn start(ctx: &clusterctl_steps::Ctx, node: &DockerNode, args: &[String]) -> Result<()> {
    ctx.wet(
        node.name(),
        format!("write {ARGS_FILE} to start `{}`", describe(args)),
        write(node, args),
    )
    .await?;
    Ok(())
}

/// Whether node container `node` runs and has its args file (clusterd was started there).
pub async fn is_started(node: &DockerNode) -> Result<bool> {
    Ok(node.is_running().await? && is_written(node).await?)
}

/// Whether the node already has a non-empty args file (clusterd was started there).
pub async fn is_written(node: &DockerNode) -> Result<bool> {
    let (code, _) = node.run_unchecked(&["test", "-s", ARGS_FILE]).await?;
    Ok(code == 0)
}

/// Writes the args file (mode 0600: an agent's holds its join token).
pub async fn write(node: &DockerNode, args: &[String]) -> Result<()> {
    node.run(&["mkdir", "-p", ARGS_DIR]).await?;
    node.copy(render(args).as_bytes(), ARGS_FILE, 0o600).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_args_follow_the_contract() {
        let args = server_args("dev", "dev-server-0", "172.18.0.2", false);
        assert_eq!(
            render(&args),
            "server\n--data-dir\n/var/lib/clusterd\n--advertise-address\n172.18.0.2\n--tls-san\n127.0.0.1\n--tls-san\nlocalhost\n--tls-san\ndev-server-0\n--cluster-name\ndev\n"
        );
        let with_name = server_args("dev", "dev-server-0", "172.18.0.2", true);
        assert_eq!(
            with_name[with_name.len() - 2..],
            ["--node-name", "dev-server-0"]
        );
    }

    #[test]
    fn agent_args_join_the_server_and_hide_the_token_when_shown() {
        let join = JoinCredentials {
            token: "abcdef.0123456789abcdef".into(),
            ca_hash: "sha256:00ff".into(),
        };
        let args = agent_args("172.18.0.2", &join, "dev-agent-0", "172.18.0.3");
        assert_eq!(
            describe(&args),
            "clusterd agent --server https://172.18.0.2:6443 --token <redacted> --ca-cert-hash sha256:00ff --node-name dev-agent-0 --node-ip 172.18.0.3"
        );
        assert!(render(&args).contains("\nabcdef.0123456789abcdef\n"));
    }
}
