//! The cluster zone as records: built from Services and EndpointSlices, then answered from memory.
//! Pure: no IO, rebuilt whole after every change (a few hundred Services rebuild in microseconds).
//!
//! Names follow the Kubernetes DNS specification (the one CoreDNS's kubernetes plugin implements):
//! `<svc>.<ns>.svc.<domain>` (ClusterIPs, or the ready endpoints of a headless Service),
//! `<host>.<svc>.<ns>.svc.<domain>` for endpoints of headless Services, `_<port>._<proto>.<svc>...`
//! SRV for named ports, CNAME for ExternalName, PTR for those addresses and
//! `a-b-c-d.<ns>.pod.<domain>` for any pod address.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// TTL of every record of the cluster zone, in seconds (CoreDNS's default is 5 too).
pub const TTL: u32 = 5;
/// The label linking an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// How many CNAMEs inside the zone an answer follows.
const MAX_CHAIN: usize = 8;

/// What one name holds.
#[derive(Debug, Default, Clone)]
struct Entry {
    ips: BTreeSet<IpAddr>,
    cname: Option<Name>,
    srv: Vec<SRV>,
    ptr: BTreeSet<Name>,
}

/// The answer of the zone to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// NoError or NXDomain.
    pub rcode: ResponseCode,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the SOA for NXDOMAIN and empty answers).
    pub authority: Vec<Record>,
    /// Additional section (addresses of SRV targets).
    pub additionals: Vec<Record>,
    /// A CNAME target outside the zone that the resolver should look up upstream and append.
    pub external_target: Option<Name>,
}

/// The records of the cluster zone (and the reverse names of its addresses).
#[derive(Debug, Clone)]
pub struct Zone {
    /// The zone apex, lowercase with the trailing dot (`cluster.local.`).
    apex: Name,
    names: HashMap<Name, Entry>,
    serial: u32,
}

fn fqdn(text: &str) -> Option<Name> {
    Some(normalize(&Name::from_ascii(text).ok()?))
}

/// `name` lowercase and fully qualified, the form the zone keys names by.
pub fn normalize(name: &Name) -> Name {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name
}

/// The `in-addr.arpa.` / `ip6.arpa.` name of an address.
pub fn reverse_name(ip: IpAddr) -> Name {
    normalize(&Name::from(ip))
}

/// The label an address gets in `<ip>.<ns>.pod.<domain>` and for endpoints without a hostname.
pub fn dashed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => v6.to_string().replace(':', "-"),
    }
}

fn record(name: &Name, rdata: RData) -> Record {
    Record::from_rdata(name.clone(), TTL, rdata)
}

fn address_record(name: &Name, ip: IpAddr) -> Record {
    match ip {
        IpAddr::V4(v4) => record(name, RData::A(A(v4))),
        IpAddr::V6(v6) => record(name, RData::AAAA(AAAA(v6))),
    }
}

impl Zone {
    /// An empty zone for `domain` (`cluster.local`); `None` if that is not a domain name.
    pub fn empty(domain: &str) -> Option<Zone> {
        let apex = fqdn(domain)?;
        let mut names = HashMap::new();
        names.insert(apex.clone(), Entry::default());
        Some(Zone {
            apex,
            names,
            serial: 1,
        })
    }

    /// The zone holding `services` and `slices`; `serial` goes into the SOA (changes with content).
    pub fn build(
        domain: &str,
        services: &[&Service],
        slices: &[&EndpointSlice],
        serial: u32,
    ) -> Option<Zone> {
        let mut zone = Zone::empty(domain)?;
        zone.serial = serial;
        let mut slices_of: HashMap<(String, String), Vec<&EndpointSlice>> = HashMap::new();
        for slice in slices {
            let namespace = slice.metadata.namespace.clone().unwrap_or_default();
            if let Some(service) = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
            {
                slices_of
                    .entry((namespace, service.clone()))
                    .or_default()
                    .push(slice);
            }
        }
        for service in services {
            let namespace = service.metadata.namespace.clone().unwrap_or_default();
            let name = service.metadata.name.clone().unwrap_or_default();
            let slices = slices_of
                .get(&(namespace.clone(), name.clone()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            zone.add_service(service, &namespace, &name, slices);
        }
        zone.add_ancestors();
        Some(zone)
    }

    /// The zone apex (`cluster.local.`).
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    fn entry(&mut self, name: &Name) -> &mut Entry {
        self.names.entry(name.clone()).or_default()
    }

    fn add_service(
        &mut self,
        service: &Service,
        namespace: &str,
        name: &str,
        slices: &[&EndpointSlice],
    ) {
        let Some(spec) = service.spec.as_ref() else {
            return;
        };
        let Some(svc_name) = fqdn(&format!("{name}.{namespace}.svc.{}", self.apex)) else {
            tracing::warn!(service = %format!("{namespace}/{name}"), "service name is not a DNS name");
            return;
        };
        self.entry(&svc_name);
        if spec.type_.as_deref() == Some("ExternalName") {
            let target = spec.external_name.as_deref().unwrap_or_default();
            match fqdn(target) {
                Some(target) => self.entry(&svc_name).cname = Some(target),
                None => {
                    tracing::warn!(service = %format!("{namespace}/{name}"), target, "externalName is not a DNS name")
                }
            }
            return;
        }
        let cluster_ips: Vec<IpAddr> = spec
            .cluster_ips
            .clone()
            .or_else(|| spec.cluster_ip.clone().map(|ip| vec![ip]))
            .unwrap_or_default()
            .iter()
            .filter_map(|ip| ip.parse().ok())
            .collect();
        let headless = spec.cluster_ip.as_deref() == Some("None");
        if !headless {
            for ip in &cluster_ips {
                self.entry(&svc_name).ips.insert(*ip);
                self.entry(&reverse_name(*ip)).ptr.insert(svc_name.clone());
            }
            for port in spec.ports.iter().flatten() {
                let Some(port_name) = port.name.as_deref().filter(|n| !n.is_empty()) else {
                    continue;
                };
                let protocol = port.protocol.as_deref().unwrap_or("TCP").to_lowercase();
                if let Some(srv_name) = fqdn(&format!("_{port_name}._{protocol}.{svc_name}")) {
                    let srv = SRV::new(0, 100, port.port as u16, svc_name.clone());
                    self.entry(&srv_name).srv.push(srv);
                }
            }
            return;
        }
        let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
        // Headless: every ready endpoint by address, by host name, and in SRV records.
        let mut targets: Vec<(Name, Vec<IpAddr>)> = Vec::new();
        let mut srv_ports: Vec<(String, String, u16, Name)> = Vec::new();
        for slice in slices {
            if slice.address_type == "FQDN" {
                continue;
            }
            for endpoint in &slice.endpoints {
                let ready = endpoint
                    .conditions
                    .as_ref()
                    .and_then(|c| c.ready)
                    .unwrap_or(true);
                if !ready && !publish_not_ready {
                    continue;
                }
                let ips: Vec<IpAddr> = endpoint
                    .addresses
                    .iter()
                    .filter_map(|a| a.parse().ok())
                    .collect();
                let Some(first) = ips.first() else {
                    continue;
                };
                let host = endpoint.hostname.clone().unwrap_or_else(|| dashed(*first));
                let Some(host_name) = fqdn(&format!("{host}.{svc_name}")) else {
                    continue;
                };
                for ip in &ips {
                    self.entry(&svc_name).ips.insert(*ip);
                    self.entry(&host_name).ips.insert(*ip);
                    self.entry(&reverse_name(*ip)).ptr.insert(host_name.clone());
                }
                for port in slice.ports.iter().flatten() {
                    let (Some(port_name), Some(number)) = (port.name.as_deref(), port.port) else {
                        continue;
                    };
                    if port_name.is_empty() {
                        continue;
                    }
                    let protocol = port.protocol.as_deref().unwrap_or("TCP").to_lowercase();
                    srv_ports.push((
                        port_name.to_owned(),
                        protocol,
                        number as u16,
                        host_name.clone(),
                    ));
                }
                targets.push((host_name, ips));
            }
        }
        let mut by_srv_name: HashMap<Name, Vec<(u16, Name)>> = HashMap::new();
        for (port_name, protocol, number, target) in srv_ports {
            if let Some(srv_name) = fqdn(&format!("_{port_name}._{protocol}.{svc_name}")) {
                by_srv_name
                    .entry(srv_name)
                    .or_default()
                    .push((number, target));
            }
        }
        for (srv_name, mut records) in by_srv_name {
            records.sort();
            records.dedup();
            let weight = (100 / records.len()).max(1) as u16;
            for (port, target) in records {
                self.entry(&srv_name)
                    .srv
                    .push(SRV::new(0, weight, port, target));
            }
        }
    }

    /// Every name between a record and the apex exists (as an empty non-terminal).
    fn add_ancestors(&mut self) {
        let names: Vec<Name> = self
            .names
            .keys()
            .filter(|n| self.apex.zone_of(n))
            .cloned()
            .collect();
        for name in names {
            let mut current = normalize(&name.base_name());
            while self.apex.zone_of(&current) && current != self.apex {
                self.names.entry(current.clone()).or_default();
                current = normalize(&current.base_name());
            }
        }
    }

    /// Whether the zone answers for `name` (it is under the apex, or a reverse name of ours);
    /// other names go upstream.
    pub fn is_authoritative_for(&self, name: &Name) -> bool {
        let name = normalize(name);
        self.apex.zone_of(&name) || self.names.contains_key(&name)
    }

    /// The zone's SOA record.
    pub fn soa(&self) -> Record {
        let mname = Name::from_ascii("ns.dns")
            .ok()
            .and_then(|n| n.append_domain(&self.apex).ok())
            .unwrap_or_else(|| self.apex.clone());
        let rname = Name::from_ascii("hostmaster")
            .ok()
            .and_then(|n| n.append_domain(&self.apex).ok())
            .unwrap_or_else(|| self.apex.clone());
        record(
            &self.apex,
            RData::SOA(SOA::new(mname, rname, self.serial, 7200, 1800, 86400, TTL)),
        )
    }

    /// A pod address from `a-b-c-d.<ns>.pod.<apex>`, `Some(None)` for other names in the pod subtree
    /// that exist (`pod.<apex>`, `<ns>.pod.<apex>`), `None` outside it or for names that do not.
    fn pod_lookup(&self, name: &Name) -> Option<Option<Ipv4Addr>> {
        let pod_apex = Name::from_ascii("pod")
            .ok()?
            .append_domain(&self.apex)
            .ok()?;
        if !pod_apex.zone_of(name) {
            return None;
        }
        let depth = name.num_labels() - pod_apex.num_labels();
        match depth {
            0 | 1 => Some(None),
            2 => {
                let label = name.iter().next()?;
                let text = std::str::from_utf8(label).ok()?;
                let ip = Ipv4Addr::from_str(&text.replace('-', ".")).ok()?;
                Some(Some(ip))
            }
            _ => None,
        }
    }

    /// Answers a question for a name the zone is authoritative for (lowercase, fully qualified).
    pub fn lookup(&self, name: &Name, qtype: RecordType) -> Answer {
        let mut answer = Answer {
            rcode: ResponseCode::NoError,
            answers: Vec::new(),
            authority: Vec::new(),
            additionals: Vec::new(),
            external_target: None,
        };
        let mut current = normalize(name);
        for _ in 0..MAX_CHAIN {
            if let Some(pod) = self.pod_lookup(&current) {
                if let (Some(ip), RecordType::A | RecordType::ANY) = (pod, qtype) {
                    answer
                        .answers
                        .push(address_record(&current, IpAddr::V4(ip)));
                }
                break;
            }
            let Some(entry) = self.names.get(&current) else {
                if answer.answers.is_empty() {
                    answer.rcode = ResponseCode::NXDomain;
                }
                break;
            };
            if let Some(target) = &entry.cname {
                if qtype != RecordType::CNAME {
                    answer
                        .answers
                        .push(record(&current, RData::CNAME(CNAME(target.clone()))));
                    if self.apex.zone_of(target) {
                        current = target.clone();
                        continue;
                    }
                    answer.external_target = Some(target.clone());
                    break;
                }
            }
            self.answer_entry(&current, entry, qtype, &mut answer);
            break;
        }
        if answer.answers.is_empty() && answer.external_target.is_none() {
            answer.authority.push(self.soa());
        }
        answer
    }

    fn answer_entry(&self, name: &Name, entry: &Entry, qtype: RecordType, answer: &mut Answer) {
        let any = qtype == RecordType::ANY;
        for ip in &entry.ips {
            let wanted = matches!(
                (ip, qtype),
                (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::AAAA)
            );
            if wanted || any {
                answer.answers.push(address_record(name, *ip));
            }
        }
        if qtype == RecordType::CNAME || any {
            if let Some(target) = &entry.cname {
                answer
                    .answers
                    .push(record(name, RData::CNAME(CNAME(target.clone()))));
            }
        }
        if qtype == RecordType::SRV || any {
            for srv in &entry.srv {
                answer.answers.push(record(name, RData::SRV(srv.clone())));
                if let Some(target) = self.names.get(srv.target()) {
                    for ip in &target.ips {
                        let extra = address_record(srv.target(), *ip);
                        if !answer.additionals.contains(&extra) {
                            answer.additionals.push(extra);
                        }
                    }
                }
            }
        }
        if qtype == RecordType::PTR || any {
            for target in &entry.ptr {
                answer
                    .answers
                    .push(record(name, RData::PTR(PTR(target.clone()))));
            }
        }
        if *name == self.apex {
            if qtype == RecordType::SOA || any {
                answer.answers.push(self.soa());
            }
            if qtype == RecordType::NS || any {
                if let RData::SOA(soa) = self.soa().data() {
                    answer
                        .answers
                        .push(record(name, RData::NS(NS(soa.mname().clone()))));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
