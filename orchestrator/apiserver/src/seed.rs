//! What a new cluster starts with: the four default namespaces, the bootstrap RBAC policy, the
//! `kubernetes` Service and the `kube-dns` Service — created when missing, never overwritten.

use crate::storage::ObjectStore;
use serde_json::{json, Value};

use crate::authz::bootstrap_objects;
use crate::error::{Error, Result};
use crate::handlers::now_timestamp;
use crate::objects::encode;

/// The namespaces every cluster has.
pub const DEFAULT_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Offset of the cluster DNS address in the service range (10.96.0.10, as kubeadm): seeded for
/// the `kube-system/kube-dns` Service and never handed out dynamically.
pub const CLUSTER_DNS_OFFSET: u32 = 10;

/// Creates `object` at `key` unless something is there already.
async fn create_missing(store: &ObjectStore, key: &str, mut object: Value) -> Result<()> {
    let meta = object["metadata"].as_object_mut();
    if let Some(meta) = meta {
        meta.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
        meta.insert("creationTimestamp".into(), now_timestamp().into());
    }
    match store.create(key, encode(&object)).await {
        Ok(_) | Err(clusterd_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(source) => Err(Error::Store {
            operation: format!("create {key}"),
            source,
        }),
    }
}

/// Creates the default namespaces, the bootstrap ClusterRoles and bindings, the `kubernetes`
/// Service (ClusterIP `service_ip`, port 443 to the API server's `port`) and the `kube-dns`
/// Service ([`kube_dns_service`]).
pub async fn seed(store: &ObjectStore, service_ip: &str, port: u16) -> Result<()> {
    for name in DEFAULT_NAMESPACES {
        let namespace = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        create_missing(
            store,
            &format!("/registry/core/namespaces/{name}"),
            namespace,
        )
        .await?;
    }
    for (resource, name, object) in bootstrap_objects() {
        create_missing(
            store,
            &format!("/registry/rbac.authorization.k8s.io/{resource}/{name}"),
            object,
        )
        .await?;
    }
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": service_ip,
            "clusterIPs": [service_ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    });
    create_missing(store, "/registry/core/services/default/kubernetes", service).await?;
    if let Some(dns_ip) = cluster_dns_ip(service_ip) {
        create_missing(
            store,
            "/registry/core/services/kube-system/kube-dns",
            kube_dns_service(&dns_ip.to_string()),
        )
        .await?;
    }
    Ok(())
}

/// Publishes this API server's address as the endpoints of the `kubernetes` Service (an
/// Endpoints and an EndpointSlice named `kubernetes` in `default`), like upstream's endpoint
/// reconciler, so pods reach the API server through 10.96.0.1:443. Rewritten when the address
/// changed; a loopback address is not published (pods could not reach it). With several servers,
/// [`crate::endpoint_reconciler`] publishes all of them through [`publish_endpoints`] instead.
pub async fn publish_api_endpoints(
    store: &ObjectStore,
    ip: std::net::IpAddr,
    port: u16,
) -> Result<()> {
    if ip.is_loopback() || ip.is_unspecified() {
        return Ok(());
    }
    publish_endpoints(store, &[std::net::SocketAddr::new(ip, port)]).await
}

/// Makes `servers` the endpoints of the `kubernetes` Service: the Endpoints get one subset per
/// port; the EndpointSlice (one port per slice) lists the servers on the most common port (the
/// lowest on a tie) of the first server's address family — all servers of a cluster normally
/// share one port. An empty list changes nothing.
pub async fn publish_endpoints(
    store: &ObjectStore,
    servers: &[std::net::SocketAddr],
) -> Result<()> {
    let Some((endpoints, slice)) = endpoints_objects(servers) else {
        return Ok(());
    };
    put(
        store,
        "/registry/core/endpoints/default/kubernetes",
        endpoints,
        &["subsets"],
    )
    .await?;
    put(
        store,
        "/registry/discovery.k8s.io/endpointslices/default/kubernetes",
        slice,
        &["addressType", "endpoints", "ports"],
    )
    .await
}

/// The `kubernetes` Endpoints and EndpointSlice for `servers` ([`publish_endpoints`]).
fn endpoints_objects(servers: &[std::net::SocketAddr]) -> Option<(Value, Value)> {
    let first = servers.first()?;
    let mut by_port: std::collections::BTreeMap<u16, Vec<String>> = Default::default();
    for server in servers {
        let addresses = by_port.entry(server.port()).or_default();
        let ip = server.ip().to_string();
        if !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    let subsets: Vec<Value> = by_port
        .iter()
        .map(|(port, ips)| {
            let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
            json!({"addresses": addresses, "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        })
        .collect();
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": subsets,
    });
    let same_family = |server: &&std::net::SocketAddr| server.is_ipv4() == first.is_ipv4();
    let mut counts: std::collections::BTreeMap<u16, usize> = Default::default();
    for server in servers.iter().filter(same_family) {
        *counts.entry(server.port()).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    let port = counts
        .iter()
        .find(|(_, count)| **count == most)
        .map(|(port, _)| *port)
        .unwrap_or(first.port());
    let slice_endpoints: Vec<Value> = servers
        .iter()
        .filter(same_family)
        .filter(|server| server.port() == port)
        .map(|server| json!({"addresses": [server.ip().to_string()], "conditions": {"ready": true, "serving": true, "terminating": false}}))
        .collect();
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "clusterd-apiserver"}},
        "addressType": if first.is_ipv4() { "IPv4" } else { "IPv6" },
        "endpoints": slice_endpoints,
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    Some((endpoints, slice))
}

/// Where kubeadm keeps the cluster's public discovery information.
const CLUSTER_INFO_KEY: &str = "/registry/core/configmaps/kube-public/cluster-info";

/// The `kube-public/cluster-info` ConfigMap as kubeadm writes it: a kubeconfig naming the first
/// server and carrying the cluster CA (base64 `ca_data`). Later servers check their CA against it.
pub fn cluster_info(ca_data: &str, server: &str) -> Value {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca_data}\n    server: {server}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\npreferences: {{}}\nusers: null\n"
    );
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public"},
        "data": {"kubeconfig": kubeconfig},
    })
}

/// The CA (base64, as in a kubeconfig) and server of the cluster this datastore belongs to, from
/// `kube-public/cluster-info`; `None` for a new datastore.
pub async fn cluster_ca(store: &ObjectStore) -> Result<Option<(String, String)>> {
    let current = store
        .get(CLUSTER_INFO_KEY)
        .await
        .map_err(|source| Error::Store {
            operation: format!("read {CLUSTER_INFO_KEY}"),
            source,
        })?;
    let Some(current) = current else {
        return Ok(None);
    };
    let object: Value = serde_json::from_slice(&current.value).unwrap_or_default();
    let kubeconfig = object["data"]["kubeconfig"].as_str().unwrap_or_default();
    let field = |name: &str| {
        kubeconfig
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim().to_owned())
            .unwrap_or_default()
    };
    Ok(Some((
        field("certificate-authority-data:"),
        field("server:"),
    )))
}

/// Writes `kube-public/cluster-info` ([`cluster_info`]) unless it exists.
pub async fn publish_cluster_info(store: &ObjectStore, ca_data: &str, server: &str) -> Result<()> {
    create_missing(store, CLUSTER_INFO_KEY, cluster_info(ca_data, server)).await
}

/// Creates `object` at `key`, or replaces the `fields` of what is there when they differ.
async fn put(store: &ObjectStore, key: &str, object: Value, fields: &[&str]) -> Result<()> {
    let store_error = |source| Error::Store {
        operation: format!("write {key}"),
        source,
    };
    let Some(current) = store.get(key).await.map_err(store_error)? else {
        return create_missing(store, key, object).await;
    };
    let Ok(mut existing) = serde_json::from_slice::<Value>(&current.value) else {
        return Ok(());
    };
    if fields
        .iter()
        .all(|field| existing[*field] == object[*field])
    {
        return Ok(());
    }
    for field in fields {
        existing[*field] = object[*field].clone();
    }
    match store
        .update(key, encode(&existing), current.mod_revision)
        .await
    {
        Ok(_) | Err(clusterd_store::Error::Conflict { .. }) => Ok(()),
        Err(source) => Err(store_error(source)),
    }
}

/// The cluster DNS address given the first address of the service range (`10.96.0.1` gives
/// `10.96.0.10`); `None` if `first_service_ip` is not IPv4.
pub fn cluster_dns_ip(first_service_ip: &str) -> Option<std::net::Ipv4Addr> {
    let first: std::net::Ipv4Addr = first_service_ip.parse().ok()?;
    let base = u32::from(first).checked_sub(1)?;
    Some((base + CLUSTER_DNS_OFFSET).into())
}

/// The `kube-system/kube-dns` Service at `dns_ip`. Every node's agent serves DNS on that address
/// itself, so it has no selector and carries `clusterd.io/node-local: "true"`, which tells the
/// service proxy to leave it alone.
pub fn kube_dns_service(dns_ip: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "clusterd-dns", "kubernetes.io/cluster-service": "true"},
            "annotations": {"clusterd.io/node-local": "true"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": dns_ip,
            "clusterIPs": [dns_ip],
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_dns_ip_is_the_tenth_address_of_the_service_range() {
        assert_eq!(
            cluster_dns_ip("10.96.0.1"),
            Some(std::net::Ipv4Addr::new(10, 96, 0, 10))
        );
        assert_eq!(cluster_dns_ip("fd00::1"), None);
    }

    #[test]
    fn the_kubernetes_endpoints_list_every_server_grouped_by_port() {
        let servers: Vec<std::net::SocketAddr> =
            ["10.0.0.1:6443", "10.0.0.2:6443", "10.0.0.3:7443"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        let (endpoints, slice) = endpoints_objects(&servers).unwrap();
        assert_eq!(
            endpoints["subsets"],
            json!([
                {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
                {"addresses": [{"ip": "10.0.0.3"}], "ports": [{"name": "https", "port": 7443, "protocol": "TCP"}]},
            ])
        );
        let addresses: Vec<&str> = slice["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["addresses"][0].as_str().unwrap())
            .collect();
        assert_eq!(addresses, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(slice["ports"][0]["port"], 6443);
        assert!(endpoints_objects(&[]).is_none());
    }

    #[test]
    fn kube_dns_is_selectorless_and_node_local() {
        let service = kube_dns_service("10.96.0.10");
        assert!(service["spec"].get("selector").is_none());
        assert_eq!(
            service["metadata"]["annotations"]["clusterd.io/node-local"],
            "true"
        );
        assert_eq!(service["spec"]["ports"][0]["protocol"], "UDP");
        assert_eq!(service["spec"]["ports"][1]["name"], "dns-tcp");
    }
}
