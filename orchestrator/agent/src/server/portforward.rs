//! `/portForward/{ns}/{pod}`: `kubectl port-forward` as kubectl 1.31+ speaks it, SPDY/3.1 tunnelled
//! in WebSocket (`SPDY/3.1+portforward.k8s.io`). Each forwarded connection is a pair of streams
//! (`streamType: error` and `data`, one `requestID`, a `port`); the data stream is spliced to a TCP
//! connection to the pod's IP on that port, and failures are written on the error stream.
//!
//! Unlike kubelet, which dials `localhost` inside the pod's network namespace, the agent dials the
//! pod's IP from the node, so a server listening only on the pod's loopback is not reachable.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::body::Body;
use super::lookup::ContainerLookup;
use super::spdy::{self, Frame, HeaderCodec, FLAG_FIN};
use super::status;
use super::websocket::{self, PORT_FORWARD};

/// How long dialling the pod may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers the upgrade and runs the SPDY session in the background.
pub async fn port_forward<L: ContainerLookup>(
    lookup: &L,
    namespace: &str,
    pod: &str,
    mut request: Request<Incoming>,
) -> Response<Body> {
    let handshake = match websocket::negotiate_among(request.headers(), &[PORT_FORWARD]) {
        Ok(handshake) => handshake,
        Err(message) => return status::bad_request(&message),
    };
    let Some(ip) = lookup.pod_ip(namespace, pod).await else {
        return status::not_found(&format!(
            "pod \"{namespace}/{pod}\" has no network on this node"
        ));
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let pod = format!("{namespace}/{pod}");
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                if let Err(e) = session(ws, ip, &pod).await {
                    tracing::info!(%pod, error = %e, "port-forward session ended");
                }
            }
            Err(e) => tracing::info!(%pod, error = %e, "port-forward upgrade failed"),
        }
    });
    websocket::switching_protocols(&handshake)
}

/// The streams of one forwarded connection, as they arrive.
#[derive(Default)]
struct Pair {
    port: String,
    data: Option<u32>,
    error: Option<u32>,
    input: Option<mpsc::UnboundedReceiver<Option<Vec<u8>>>>,
}

async fn session<S>(ws: WebSocketStream<S>, ip: IpAddr, pod: &str) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (out, mut outgoing) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut codec = HeaderCodec::new()?;
    let mut buffer = Vec::new();
    let mut to_pod: HashMap<u32, mpsc::UnboundedSender<Option<Vec<u8>>>> = HashMap::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut tasks = Vec::new();
    let result = 'session: loop {
        match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => buffer.extend_from_slice(&bytes),
            Some(Ok(Message::Close(_))) | None => break Ok(()),
            Some(Err(e)) => break Err(format!("read tunnel: {e}")),
            Some(Ok(_)) => continue,
        }
        while let Some(frame) = spdy::parse(&mut buffer) {
            match frame {
                Frame::Data {
                    stream,
                    flags,
                    data,
                } => {
                    if let Some(sender) = to_pod.get(&stream) {
                        if !data.is_empty() {
                            let _ = sender.send(Some(data));
                        }
                        if flags & FLAG_FIN != 0 {
                            let _ = sender.send(None);
                        }
                    }
                }
                Frame::Control {
                    kind: spdy::SYN_STREAM,
                    data,
                    ..
                } => {
                    let Some(id) = spdy::stream_id(&data) else {
                        continue;
                    };
                    let headers = match data.get(10..).map(|block| codec.decode(block)) {
                        Some(Ok(headers)) => headers,
                        Some(Err(e)) => break 'session Err(e),
                        None => continue,
                    };
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let mut reply = id.to_be_bytes().to_vec();
                    reply.extend(codec.encode(&[])?);
                    if out
                        .send(spdy::control(spdy::SYN_REPLY, 0, &reply))
                        .await
                        .is_err()
                    {
                        break 'session Ok(());
                    }
                    let pair = pairs.entry(header("requestID")).or_default();
                    pair.port = header("port");
                    match header("streamType").as_str() {
                        "data" => {
                            let (tx, rx) = mpsc::unbounded_channel();
                            to_pod.insert(id, tx);
                            pair.data = Some(id);
                            pair.input = Some(rx);
                        }
                        "error" => pair.error = Some(id),
                        _ => continue,
                    }
                    if let (Some(data), Some(error), Some(input)) =
                        (pair.data, pair.error, pair.input.take())
                    {
                        let port = pair.port.clone();
                        tasks.push(tokio::spawn(forward(
                            ip,
                            port,
                            pod.to_owned(),
                            (data, error),
                            input,
                            out.clone(),
                        )));
                        pairs.retain(|_, p| p.data != Some(data));
                    }
                }
                Frame::Control {
                    kind: spdy::RST_STREAM,
                    data,
                    ..
                } => {
                    if let Some(id) = spdy::stream_id(&data) {
                        to_pod.remove(&id);
                    }
                }
                Frame::Control {
                    kind: spdy::PING,
                    data,
                    ..
                } => {
                    let _ = out.send(spdy::control(spdy::PING, 0, &data)).await;
                }
                Frame::Control {
                    kind: spdy::GOAWAY, ..
                } => break 'session Ok(()),
                Frame::Control { .. } => {}
            }
        }
    };
    for task in tasks {
        task.abort();
    }
    drop(out);
    let _ = writer.await;
    result
}

/// Splices one forwarded connection: the data stream to `ip:port`, failures on the error stream.
async fn forward(
    ip: IpAddr,
    port: String,
    pod: String,
    (data, error): (u32, u32),
    mut input: mpsc::UnboundedReceiver<Option<Vec<u8>>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let fail = |message: String| {
        let out = out.clone();
        async move {
            let _ = out.send(spdy::data(error, 0, message.as_bytes())).await;
            let _ = out.send(spdy::data(error, FLAG_FIN, &[])).await;
            let _ = out.send(spdy::data(data, FLAG_FIN, &[])).await;
        }
    };
    let Ok(number) = port.parse::<u16>() else {
        return fail(format!("invalid port {port:?} to forward to pod {pod}")).await;
    };
    let tcp = match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect((ip, number))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return fail(format!(
                "error forwarding port {number} to pod {pod}: dial {ip}:{number}: {e}"
            ))
            .await
        }
        Err(_) => {
            return fail(format!(
                "error forwarding port {number} to pod {pod}: dial {ip}:{number}: timed out"
            ))
            .await
        }
    };
    let (mut from, mut to) = tcp.into_split();
    let upstream = async {
        while let Some(Some(bytes)) = input.recv().await {
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 || out.send(spdy::data(data, 0, &buf[..n])).await.is_err() {
                break;
            }
        }
        let _ = out.send(spdy::data(data, FLAG_FIN, &[])).await;
    };
    tokio::join!(upstream, downstream);
    let _ = out.send(spdy::data(error, FLAG_FIN, &[])).await;
}
