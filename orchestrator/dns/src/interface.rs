//! The dummy interface that holds the cluster DNS address in the node's network namespace, so
//! pods' packets to 10.96.0.10 are delivered to this node's server without NAT (NodeLocal
//! DNSCache's technique). Driven through the `ip` command; idempotent.

use std::net::IpAddr;
use std::process::Command;

use crate::{Error, Result};

/// Runs `prefix... ip args...`, returning its output; `tolerate` lists stderr texts that mean
/// "already so" and count as success.
fn ip(prefix: &[String], args: &[&str], tolerate: &[&str]) -> Result<()> {
    let mut words: Vec<String> = prefix.to_vec();
    words.push("ip".into());
    words.extend(args.iter().map(|a| a.to_string()));
    let output = Command::new(&words[0])
        .args(&words[1..])
        .output()
        .map_err(|source| Error::Command {
            command: words.join(" "),
            output: source.to_string(),
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || tolerate.iter().any(|t| stderr.contains(t)) {
        return Ok(());
    }
    Err(Error::Command {
        command: words.join(" "),
        output: stderr.trim().to_owned(),
    })
}

/// Kernels without the `dummy` module (and containers that cannot load it) say one of these.
const NO_DUMMY: [&str; 3] = [
    "Unknown device type",
    "Operation not supported",
    "not supported",
];
/// The device that holds the addresses when there is no dummy link.
pub const LOOPBACK: &str = "lo";

fn cidr(address: &IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

/// Puts every address of `addresses` (as /32 or /128) on the dummy link `name`, created and
/// brought up when missing, and returns `name`. Where the kernel has no dummy links the
/// addresses go on the loopback device instead (delivered locally all the same) and `"lo"` is
/// returned. Running it again changes nothing.
pub fn setup_interface(prefix: &[String], name: &str, addresses: &[IpAddr]) -> Result<String> {
    let device = match ip(
        prefix,
        &["link", "add", name, "type", "dummy"],
        &["File exists"],
    ) {
        Ok(()) => name.to_owned(),
        Err(Error::Command { output, .. }) if NO_DUMMY.iter().any(|t| output.contains(t)) => {
            tracing::info!(
                interface = name,
                "no dummy links on this kernel: the cluster DNS address goes on lo"
            );
            LOOPBACK.to_owned()
        }
        Err(error) => return Err(error),
    };
    for address in addresses {
        ip(
            prefix,
            &["addr", "replace", &cidr(address), "dev", &device],
            &[],
        )?;
    }
    ip(prefix, &["link", "set", &device, "up"], &[])?;
    Ok(device)
}

/// Undoes [`setup_interface`]: deletes the link `name` and takes `addresses` off the loopback
/// device; whatever is already gone is fine.
pub fn remove_interface(prefix: &[String], name: &str, addresses: &[IpAddr]) -> Result<()> {
    ip(
        prefix,
        &["link", "del", name],
        &["Cannot find device", "does not exist"],
    )?;
    for address in addresses {
        ip(
            prefix,
            &["addr", "del", &cidr(address), "dev", LOOPBACK],
            &["Cannot assign requested address", "not found"],
        )?;
    }
    Ok(())
}
