//! The node's pod network as a CNI conflist: a bridge, host-local IPAM on the node's pod CIDR,
//! port mappings and forwarding rules.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::json;

use crate::{Error, Result};

/// The CNI spec version written; the plugins in Debian bookworm and containerd 1.6 both speak it.
const CNI_VERSION: &str = "1.0.0";

/// An IPv4 pod CIDR such as `10.244.1.0/24`, the node's share of the cluster's pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodCidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl PodCidr {
    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The bridge's address: the first host address, the pods' default gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// True when `ip` lies inside this CIDR.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0);
        u32::from(ip) & mask == u32::from(self.network)
    }
}

impl FromStr for PodCidr {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidCidr {
            cidr: text.to_owned(),
            reason,
        };
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| invalid("expected address/prefix"))?;
        let network: Ipv4Addr = address
            .parse()
            .map_err(|_| invalid("the address is not IPv4"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| invalid("the prefix is not a number"))?;
        if !(8..=29).contains(&prefix) {
            return Err(invalid(
                "the prefix must be between /8 and /29 to leave room for pods",
            ));
        }
        let cidr = PodCidr { network, prefix };
        if !cidr.contains(network) || u32::from(network) & !(u32::MAX << (32 - prefix)) != 0 {
            return Err(invalid("the address has host bits set"));
        }
        Ok(cidr)
    }
}

impl fmt::Display for PodCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The settings of a node's pod network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniConfig {
    /// Network name; also names host-local's lease directory.
    pub network_name: String,
    /// Linux bridge the pods' veths attach to.
    pub bridge: String,
    /// The node's pod CIDR; the bridge takes its first address.
    pub pod_cidr: PodCidr,
    /// Masquerade traffic from pods to outside the pod CIDR.
    pub ip_masq: bool,
    /// Where host-local keeps its leases (`None`: the plugin's default, `/var/lib/cni/networks`).
    pub ipam_data_dir: Option<PathBuf>,
    /// MTU of the bridge and veths (`None`: the plugin's default).
    pub mtu: Option<u32>,
}

impl CniConfig {
    /// A network named `clusterd` on bridge `cni0` for `pod_cidr`, masquerading outbound traffic.
    pub fn new(pod_cidr: PodCidr) -> Self {
        CniConfig {
            network_name: "clusterd".into(),
            bridge: "cni0".into(),
            pod_cidr,
            ip_masq: true,
            ipam_data_dir: None,
            mtu: None,
        }
    }

    /// The conflist: `bridge` (with `host-local`; the bridge plugin adds the pods' default route), `portmap` for hostPorts and `firewall`, which
    /// accepts pod traffic in the FORWARD chain even where its policy is DROP (as Docker sets it).
    /// The loopback interface is set up by containerd itself with the `loopback` plugin.
    pub fn conflist(&self) -> serde_json::Value {
        let mut ipam = json!({
            "type": "host-local",
            "ranges": [[{ "subnet": self.pod_cidr.to_string(), "gateway": self.pod_cidr.gateway().to_string() }]],
        });
        if let Some(dir) = &self.ipam_data_dir {
            ipam["dataDir"] = json!(dir.display().to_string());
        }
        let mut bridge = json!({
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": true,
            "isDefaultGateway": true,
            "ipMasq": self.ip_masq,
            "hairpinMode": true,
            "ipam": ipam,
        });
        if let Some(mtu) = self.mtu {
            bridge["mtu"] = json!(mtu);
        }
        json!({
            "cniVersion": CNI_VERSION,
            "name": self.network_name,
            "plugins": [
                bridge,
                { "type": "portmap", "capabilities": { "portMappings": true } },
                { "type": "firewall", "backend": "iptables" },
            ],
        })
    }

    /// The file name the conflist is written under; containerd loads the first in name order.
    pub fn file_name(&self) -> String {
        format!("10-{}.conflist", self.network_name)
    }

    /// Writes the conflist into `conf_dir` (created if missing), atomically; returns its path.
    pub fn write(&self, conf_dir: &Path) -> Result<PathBuf> {
        let path = conf_dir.join(self.file_name());
        let write = |source| Error::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(conf_dir).map_err(write)?;
        let mut text = serde_json::to_string_pretty(&self.conflist()).unwrap_or_default();
        text.push('\n');
        let partial = conf_dir.join(format!(".{}.partial", self.file_name()));
        std::fs::write(&partial, text).map_err(write)?;
        std::fs::rename(&partial, &path).map_err(write)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cidr_parses_and_gives_the_first_address_to_the_bridge() {
        let cidr: PodCidr = "10.244.1.0/24".parse().unwrap();
        assert_eq!(cidr.gateway(), Ipv4Addr::new(10, 244, 1, 1));
        assert!(cidr.contains(Ipv4Addr::new(10, 244, 1, 200)));
        assert!(!cidr.contains(Ipv4Addr::new(10, 244, 2, 1)));
        assert_eq!(cidr.to_string(), "10.244.1.0/24");
    }

    #[test]
    fn pod_cidr_rejects_host_bits_ipv6_and_tiny_ranges() {
        for (text, why) in [
            ("10.244.1.5/24", "host bits"),
            ("fd00::/64", "not IPv4"),
            ("10.0.0.0/30", "between"),
            ("10.0.0.0", "address/prefix"),
        ] {
            let error = text.parse::<PodCidr>().unwrap_err().to_string();
            assert!(
                error.contains(why) && error.contains(text),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn conflist_chains_bridge_portmap_and_firewall_on_the_pod_cidr() {
        let mut config = CniConfig::new("10.88.0.0/16".parse().unwrap());
        config.ipam_data_dir = Some(PathBuf::from("/var/lib/clusterd/cni"));
        let list = config.conflist();
        let types: Vec<_> = list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "firewall"]);
        let range = &list["plugins"][0]["ipam"]["ranges"][0][0];
        assert_eq!(range["subnet"], "10.88.0.0/16");
        assert_eq!(range["gateway"], "10.88.0.1");
        assert_eq!(
            list["plugins"][0]["ipam"]["dataDir"],
            "/var/lib/clusterd/cni"
        );
        assert_eq!(list["plugins"][0]["bridge"], "cni0");
    }

    #[test]
    fn write_replaces_the_file_that_containerd_reads() {
        let dir = tempfile::tempdir().unwrap();
        let config = CniConfig::new("10.244.3.0/24".parse().unwrap());
        let path = config.write(&dir.path().join("net.d")).unwrap();
        assert_eq!(path.file_name().unwrap(), "10-clusterd.conflist");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written, config.conflist());
        let entries = std::fs::read_dir(dir.path().join("net.d")).unwrap().count();
        assert_eq!(entries, 1, "no partial file left behind");
    }
}
