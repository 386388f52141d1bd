//! `/attach/{ns}/{pod}/{container}`: kubectl's WebSocket attach session relayed to the runtime's
//! streaming server (CRI `Attach`, which speaks `v4.channel.k8s.io`). The framing is the same; v5's
//! stdin half-close has no v4 equivalent and is dropped (a terminal gets Ctrl-D instead).

use clusterd_cri::Runtime;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::body::Body;
use super::exec::ExecOptions;
use super::status;
use super::websocket::{self, CLOSE, STDIN, V4};

/// Answers the upgrade after the runtime's stream is open, and relays in the background.
pub async fn attach<R: Runtime>(
    runtime: &R,
    container_id: &str,
    query: &str,
    mut request: Request<Incoming>,
) -> Response<Body> {
    let options = ExecOptions::parse(query);
    let handshake = match websocket::negotiate(request.headers()) {
        Ok(handshake) => handshake,
        Err(message) => return status::bad_request(&message),
    };
    let url = match runtime
        .attach_url(container_id, options.stdin, options.tty)
        .await
    {
        Ok(url) => url,
        Err(e) => return status::internal(&format!("attach to container {container_id}: {e}")),
    };
    let upstream = match connect(&url).await {
        Ok(upstream) => upstream,
        Err(e) => {
            return status::internal(&format!(
                "attach to container {container_id}: runtime stream {url}: {e}"
            ))
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let container_id = container_id.to_owned();
    let tty = options.tty;
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let client =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                relay(client, upstream, tty).await;
            }
            Err(e) => {
                tracing::info!(container = %container_id, error = %e, "attach upgrade failed")
            }
        }
    });
    websocket::switching_protocols(&handshake)
}

/// Opens the runtime's `v4.channel.k8s.io` WebSocket at `url` (`http://host:port/attach/<token>`).
async fn connect(url: &str) -> Result<WebSocketStream<TcpStream>, String> {
    let ws_url = url
        .strip_prefix("http://")
        .map(|rest| format!("ws://{rest}"))
        .ok_or_else(|| "only plain http streaming servers are supported".to_owned())?;
    let uri: http::Uri = ws_url.parse().map_err(|e| format!("{e}"))?;
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let mut request = ws_url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::HeaderValue::from_static(V4),
    );
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let (ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// Copies frames both ways until either side ends, then closes the other.
async fn relay<S>(client: WebSocketStream<S>, upstream: WebSocketStream<TcpStream>, tty: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut client_tx, mut client_rx) = client.split();
    let (mut upstream_tx, mut upstream_rx) = upstream.split();
    loop {
        tokio::select! {
            message = client_rx.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    let data = match (data.first(), data.get(1)) {
                        (Some(&CLOSE), Some(&STDIN)) if tty => vec![STDIN, 4].into(),
                        (Some(&CLOSE), _) => continue,
                        _ => data,
                    };
                    if upstream_tx.send(Message::Binary(data)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = upstream_tx.close().await;
                    return;
                }
                Some(Ok(_)) => {}
            },
            message = upstream_rx.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    if client_tx.send(Message::Binary(data)).await.is_err() {
                        let _ = upstream_tx.close().await;
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = client_tx
        .send(Message::Close(Some(
            tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
                reason: "".into(),
            },
        )))
        .await;
    let _ = client_tx.close().await;
}
