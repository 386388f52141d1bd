//! Names outside the cluster zone go to the node's upstream resolvers: UDP first (with a short
//! timeout per resolver), TCP when the client asked over TCP and the UDP answer was truncated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::{Error, Result};

/// The largest UDP answer read from an upstream.
pub const UDP_BUFFER: usize = 4096;

/// Sends `query` to each upstream in turn until one answers; `tcp` when the client came over TCP
/// (then a truncated UDP answer is asked again over TCP). The answer carries `query`'s id.
pub async fn forward(
    upstreams: &[SocketAddr],
    query: &Message,
    tcp: bool,
    timeout: Duration,
) -> Result<Message> {
    let name = query
        .queries()
        .first()
        .map(|q| q.name().to_string())
        .unwrap_or_default();
    if upstreams.is_empty() {
        return Err(Error::Upstream {
            name,
            reason: "no upstream resolvers are configured".into(),
        });
    }
    let mut outgoing = query.clone();
    outgoing.set_id(rand::random());
    let bytes = outgoing.to_vec().map_err(|e| Error::Upstream {
        name: name.clone(),
        reason: format!("cannot encode the query: {e}"),
    })?;
    let mut failures = Vec::new();
    for upstream in upstreams {
        let attempt = async {
            let mut answer = exchange_udp(*upstream, &bytes, outgoing.id(), timeout).await?;
            if tcp && answer.truncated() {
                answer = exchange_tcp(*upstream, &bytes, outgoing.id(), timeout).await?;
            }
            Ok::<Message, String>(answer)
        };
        match attempt.await {
            Ok(mut answer) => {
                answer.set_id(query.id());
                return Ok(answer);
            }
            Err(reason) => failures.push(format!("{upstream}: {reason}")),
        }
    }
    Err(Error::Upstream {
        name,
        reason: failures.join("; "),
    })
}

fn unspecified(peer: SocketAddr) -> SocketAddr {
    let ip = match peer.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

fn decode(bytes: &[u8], id: u16) -> Option<Message> {
    Message::from_vec(bytes)
        .ok()
        .filter(|m| m.id() == id && m.message_type() == hickory_proto::op::MessageType::Response)
}

async fn exchange_udp(
    upstream: SocketAddr,
    query: &[u8],
    id: u16,
    timeout: Duration,
) -> std::result::Result<Message, String> {
    let socket = UdpSocket::bind(unspecified(upstream))
        .await
        .map_err(|e| format!("bind a UDP socket: {e}"))?;
    socket
        .connect(upstream)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    socket.send(query).await.map_err(|e| format!("send: {e}"))?;
    let mut buffer = vec![0u8; UDP_BUFFER];
    let receive = async {
        loop {
            let n = socket
                .recv(&mut buffer)
                .await
                .map_err(|e| format!("receive: {e}"))?;
            // Anything that is not the answer to this query (late or forged) is dropped.
            if let Some(message) = decode(&buffer[..n], id) {
                return Ok(message);
            }
        }
    };
    tokio::time::timeout(timeout, receive)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

async fn exchange_tcp(
    upstream: SocketAddr,
    query: &[u8],
    id: u16,
    timeout: Duration,
) -> std::result::Result<Message, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("connect over TCP: {e}"))?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream
            .write_all(&framed)
            .await
            .map_err(|e| format!("send over TCP: {e}"))?;
        let length = stream
            .read_u16()
            .await
            .map_err(|e| format!("receive over TCP: {e}"))?;
        let mut buffer = vec![0u8; length as usize];
        stream
            .read_exact(&mut buffer)
            .await
            .map_err(|e| format!("receive over TCP: {e}"))?;
        decode(&buffer, id).ok_or_else(|| "the TCP answer does not match the query".to_string())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no TCP answer within {timeout:?}"))?
}
