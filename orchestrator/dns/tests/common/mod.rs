//! Test plumbing: a DNS server of ours against a real in-process API server, a fake upstream
//! resolver on loopback, and a tiny DNS client.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use clusterd_dns::DnsConfig;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

/// The address the fake upstream answers for every name but `missing.test.`.
pub const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

/// A loopback address whose port is free for both UDP and TCP.
pub fn free_addr() -> SocketAddr {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("udp addr");
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}

/// A fake upstream resolver on loopback: `A 198.51.100.7` for every name, NXDOMAIN for
/// `missing.test.`. Stops when the runtime ends.
pub async fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = socket.local_addr().expect("upstream addr");
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buffer[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_op_code(OpCode::Query)
                .set_recursion_desired(true)
                .set_recursion_available(true);
            for q in query.queries() {
                reply.add_query(q.clone());
                if q.name().to_ascii() == "missing.test." {
                    reply.set_response_code(ResponseCode::NXDomain);
                } else if q.query_type() == RecordType::A {
                    reply.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::A(A(UPSTREAM_ANSWER)),
                    ));
                }
            }
            let _ = socket.send_to(&reply.to_vec().expect("encode"), from).await;
        }
    });
    addr
}

/// A UDP "resolver" that never answers (a black hole for timeouts).
pub async fn silent_upstream() -> (SocketAddr, UdpSocket) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind silent");
    (socket.local_addr().expect("silent addr"), socket)
}

/// Our DNS server for `client` on `config.listen`, stopped when the returned sender is dropped.
pub fn start_dns(client: kube::Client, config: DnsConfig) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let result = clusterd_dns::run(client, config, async {
            let _ = stopped.await;
        })
        .await;
        if let Err(error) = result {
            panic!("dns server failed: {error}");
        }
    });
    stop
}

/// A test configuration listening on `listen` and forwarding to `upstreams`.
pub fn config(listen: SocketAddr, upstreams: Vec<SocketAddr>) -> DnsConfig {
    DnsConfig {
        listen: vec![listen],
        upstreams,
        upstream_timeout: Duration::from_millis(500),
        setup_interface: false,
        ..DnsConfig::default()
    }
}

fn query(name: &str, qtype: RecordType, edns: bool) -> Message {
    let mut message = Message::new();
    message
        .set_id(rand_id())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(4096);
        message.set_edns(e);
    }
    message
}

fn rand_id() -> u16 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(7)
        & 0xffff) as u16
}

/// Asks `server` over UDP (with EDNS 4096 when `edns`); `None` after 3 s without an answer.
pub async fn ask_udp(
    server: SocketAddr,
    name: &str,
    qtype: RecordType,
    edns: bool,
) -> Option<(Message, usize)> {
    let q = query(name, qtype, edns);
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    socket.connect(server).await.ok()?;
    socket.send(&q.to_vec().ok()?).await.ok()?;
    let mut buffer = vec![0u8; 65535];
    let n = tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buffer))
        .await
        .ok()?
        .ok()?;
    let reply = Message::from_vec(&buffer[..n]).ok()?;
    assert_eq!(reply.id(), q.id(), "answer id matches the query");
    Some((reply, n))
}

/// Asks over UDP without EDNS; panics without an answer.
pub async fn ask(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
    ask_udp(server, name, qtype, false)
        .await
        .unwrap_or_else(|| panic!("no UDP answer from {server} for {name} {qtype}"))
        .0
}

/// Asks over TCP; panics without an answer.
pub async fn ask_tcp(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
    let q = query(name, qtype, false);
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.expect("connect tcp");
        let bytes = q.to_vec().expect("encode");
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend(bytes);
        stream.write_all(&framed).await.expect("send tcp");
        let length = stream.read_u16().await.expect("read length");
        let mut buffer = vec![0u8; length as usize];
        stream.read_exact(&mut buffer).await.expect("read answer");
        Message::from_vec(&buffer).expect("decode")
    };
    tokio::time::timeout(Duration::from_secs(3), exchange)
        .await
        .unwrap_or_else(|_| panic!("no TCP answer from {server} for {name}"))
}

/// The addresses in the answer section.
pub fn addresses(message: &Message) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = message
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    ips.sort();
    ips
}

/// Polls `name` until `check` accepts the answer; returns it and how long it took.
pub async fn wait_answer(
    server: SocketAddr,
    name: &str,
    qtype: RecordType,
    timeout: Duration,
    check: impl Fn(&Message) -> bool,
) -> (Message, Duration) {
    let start = Instant::now();
    loop {
        if let Some((message, _)) = ask_udp(server, name, qtype, false).await {
            if check(&message) {
                return (message, start.elapsed());
            }
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for the expected answer for {name} {qtype}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A server bound on a free port of 127.0.0.1 that TCP listening shows up on.
pub async fn wait_listening(addr: SocketAddr) {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("dns server did not listen on {addr}");
}
