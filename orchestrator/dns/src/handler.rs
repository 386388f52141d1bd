//! One DNS request: the cluster zone answers its own names, the upstreams answer the rest, and the
//! response is cut to what the client can receive (512 bytes over UDP without EDNS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::xfer::Protocol;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use tokio::sync::watch;

use crate::forward::forward;
use crate::zone::{normalize, Zone};

/// The largest UDP response to a client that did not say otherwise with EDNS (RFC 1035).
const CLASSIC_UDP_LIMIT: usize = 512;
/// The size of an OPT record without options.
const OPT_SIZE: usize = 11;

/// Answers requests from the current zone (`None` until Services and EndpointSlices have listed).
#[derive(Debug, Clone)]
pub struct DnsHandler {
    apex: Name,
    zone: watch::Receiver<Option<Arc<Zone>>>,
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
}

/// A response before it is sized and sent.
struct Reply {
    header: Header,
    answers: Vec<Record>,
    authority: Vec<Record>,
    additionals: Vec<Record>,
}

impl DnsHandler {
    /// A handler for the zone `apex` whose content `zone` follows.
    pub fn new(
        apex: Name,
        zone: watch::Receiver<Option<Arc<Zone>>>,
        upstreams: Vec<SocketAddr>,
        timeout: Duration,
    ) -> Self {
        Self {
            apex: normalize(&apex),
            zone,
            upstreams,
            timeout,
        }
    }

    fn error(request: &Request, code: ResponseCode) -> Reply {
        let mut header = Header::response_from_request(request.header());
        header.set_response_code(code);
        header.set_recursion_available(true);
        Reply {
            header,
            answers: Vec::new(),
            authority: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// The reply to a request, before sizing.
    async fn reply(&self, request: &Request) -> Reply {
        if request.message_type() != MessageType::Query {
            return Self::error(request, ResponseCode::FormErr);
        }
        if request.op_code() != OpCode::Query {
            return Self::error(request, ResponseCode::NotImp);
        }
        let [query] = request.queries() else {
            return Self::error(request, ResponseCode::FormErr);
        };
        let name = normalize(&Name::from(query.name().clone()));
        let qtype = query.query_type();
        let zone = self.zone.borrow().clone();
        let tcp = request.protocol() == Protocol::Tcp;
        match zone {
            Some(zone) if zone.is_authoritative_for(&name) => {
                let answer = zone.lookup(&name, qtype);
                let mut reply = Self::error(request, answer.rcode);
                reply.header.set_authoritative(true);
                reply.answers = answer.answers;
                reply.authority = answer.authority;
                reply.additionals = answer.additionals;
                if let Some(target) = answer.external_target {
                    self.chase(request, target, qtype, tcp, &mut reply).await;
                }
                reply
            }
            None if self.apex.zone_of(&name) => {
                tracing::debug!(%name, "cluster zone not loaded yet: SERVFAIL");
                Self::error(request, ResponseCode::ServFail)
            }
            _ => self.forwarded(request, query.original().clone(), tcp).await,
        }
    }

    fn upstream_query(request: &Request, query: Query) -> Message {
        let mut message = Message::new();
        message
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(request.recursion_desired())
            .set_checking_disabled(request.checking_disabled())
            .add_query(query);
        if let Some(edns) = request.edns() {
            let mut ours = Edns::new();
            ours.set_max_payload(
                edns.max_payload()
                    .clamp(CLASSIC_UDP_LIMIT as u16, crate::forward::UDP_BUFFER as u16),
            );
            ours.set_dnssec_ok(edns.flags().dnssec_ok);
            message.set_edns(ours);
        }
        message
    }

    /// Forwards a question outside the zone; SERVFAIL when no upstream answers.
    async fn forwarded(&self, request: &Request, query: Query, tcp: bool) -> Reply {
        let message = Self::upstream_query(request, query);
        match forward(&self.upstreams, &message, tcp, self.timeout).await {
            Ok(mut upstream) => {
                let mut header = Header::response_from_request(request.header());
                header.set_response_code(upstream.response_code());
                header.set_recursion_available(upstream.recursion_available());
                header.set_authentic_data(upstream.authentic_data());
                header.set_truncated(upstream.truncated());
                Reply {
                    header,
                    answers: upstream.take_answers(),
                    authority: upstream.take_name_servers(),
                    additionals: upstream.take_additionals(),
                }
            }
            Err(error) => {
                tracing::debug!(%error, "forwarding failed: SERVFAIL");
                Self::error(request, ResponseCode::ServFail)
            }
        }
    }

    /// Appends the upstream's answer for an ExternalName target (its rcode wins, as for any CNAME
    /// chain); leaves the CNAME alone when no upstream answers.
    async fn chase(
        &self,
        request: &Request,
        target: Name,
        qtype: RecordType,
        tcp: bool,
        reply: &mut Reply,
    ) {
        let message = Self::upstream_query(request, Query::query(target, qtype));
        match forward(&self.upstreams, &message, tcp, self.timeout).await {
            Ok(mut upstream) => {
                reply.header.set_response_code(upstream.response_code());
                reply.answers.extend(upstream.take_answers());
                reply.authority = upstream.take_name_servers();
            }
            Err(error) => tracing::debug!(%error, "cannot resolve an ExternalName target"),
        }
    }
}

/// How many bytes the client accepts.
fn size_limit(request: &Request) -> usize {
    if request.protocol() != Protocol::Udp {
        return u16::MAX as usize;
    }
    match request.edns() {
        Some(edns) => (edns.max_payload() as usize).max(CLASSIC_UDP_LIMIT) - OPT_SIZE,
        None => CLASSIC_UDP_LIMIT,
    }
}

/// The size of the reply on the wire, erring on the large side: hickory-server writes the
/// question without registering its name for compression, so the answers cannot point at it.
fn encoded_size(request: &Request, reply: &Reply) -> usize {
    let mut message = Message::new();
    message.set_header(reply.header);
    for query in request.queries() {
        message.add_query(query.original().clone());
    }
    message.insert_answers(reply.answers.clone());
    message.insert_name_servers(reply.authority.clone());
    message.insert_additionals(reply.additionals.clone());
    let uncompressed_question: usize = request
        .queries()
        .iter()
        .map(|q| q.original().name().len() + 1)
        .sum();
    message
        .to_vec()
        .map(|b| b.len() + uncompressed_question)
        .unwrap_or(usize::MAX)
}

/// Drops records until the reply fits `limit`: additionals first (no TC needed), then the
/// authority section and as many answers from the end as needed, with the TC bit set so the
/// client retries over TCP. Binary search keeps this cheap for headless Services with many
/// endpoints.
fn fit(request: &Request, reply: &mut Reply, limit: usize) {
    if encoded_size(request, reply) <= limit {
        return;
    }
    reply.additionals.clear();
    if encoded_size(request, reply) <= limit {
        return;
    }
    reply.header.set_truncated(true);
    reply.authority.clear();
    let answers = std::mem::take(&mut reply.answers);
    // Invariant: `low` answers fit (zero always does), `high + 1` do not.
    let (mut low, mut high) = (0, answers.len());
    while low < high {
        let middle = (low + high).div_ceil(2);
        reply.answers = answers[..middle].to_vec();
        if encoded_size(request, reply) <= limit {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    reply.answers = answers[..low].to_vec();
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut reply = self.reply(request).await;
        fit(request, &mut reply, size_limit(request));
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = request.edns() {
            let mut ours = Edns::new();
            ours.set_max_payload(edns.max_payload().max(CLASSIC_UDP_LIMIT as u16));
            builder.edns(ours);
        }
        let header = reply.header;
        let response = builder.build(
            header,
            reply.answers.iter(),
            reply.authority.iter(),
            std::iter::empty(),
            reply.additionals.iter(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::debug!(src = %request.src(), %error, "cannot send a DNS response");
                header.into()
            }
        }
    }
}
