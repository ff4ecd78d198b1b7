//! The WebSocket transport: the accept loop, subprotocol negotiation, and the two tasks of
//! each connection (one reads and drives the session, one writes).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use wamp_runtime::Serializer;

use crate::outbox::{outbox, OutboxReceiver};
use crate::session::{Flow, Session};
use crate::RouterInner;

/// Accepts connections until the router shuts down.
pub(crate) async fn accept_loop(listener: TcpListener, router: Arc<RouterInner>) {
    loop {
        let accepted = tokio::select! {
            _ = router.shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let router2 = router.clone();
                router.tasks.spawn(async move {
                    tracing::debug!(%addr, "connection accepted");
                    serve(stream, router2).await;
                    tracing::debug!(%addr, "connection closed");
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Picks the first WAMP subprotocol of the client's list that we speak.
fn negotiate(req: &Request) -> Option<Serializer> {
    req.headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| Serializer::from_subprotocol(p.trim()))
}

fn refuse(status: StatusCode, text: &str) -> ErrorResponse {
    let mut resp = ErrorResponse::new(Some(text.to_owned()));
    *resp.status_mut() = status;
    resp
}

async fn serve(stream: TcpStream, router: Arc<RouterInner>) {
    let cfg = &router.config;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(cfg.max_message_size))
        .max_frame_size(Some(cfg.max_message_size));
    let mut chosen = None;
    // The callback's error type is tungstenite's HTTP response: large, and not ours to change.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| match negotiate(req) {
        Some(ser) => {
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static(ser.subprotocol()),
            );
            chosen = Some(ser);
            Ok(resp)
        }
        None => Err(refuse(
            StatusCode::BAD_REQUEST,
            "no supported WAMP subprotocol offered: use wamp.2.json, wamp.2.msgpack or wamp.2.cbor",
        )),
    };
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
    let ws = match tokio::time::timeout(cfg.hello_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!("WebSocket handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("WebSocket handshake timed out");
            return;
        }
    };
    let Some(serializer) = chosen else { return };
    drive(ws, serializer, router).await;
}

async fn drive(ws: WebSocketStream<TcpStream>, serializer: Serializer, router: Arc<RouterInner>) {
    let (sink, mut stream) = ws.split();
    let kill = CancellationToken::new();
    let (out, rx) = outbox(
        router.config.outbound_queue,
        kill.clone(),
        router.stats.clone(),
    );
    let writer = tokio::spawn(write_loop(
        sink,
        rx,
        serializer,
        kill.clone(),
        router.clone(),
    ));
    let mut session = Session::new(router.clone(), serializer, out);

    // While a HELLO is awaited: when it is due. While shutting down: when GOODBYE is due.
    let mut deadline = None;
    let mut shutting_down = false;
    loop {
        if !shutting_down {
            if session.awaits_hello() {
                deadline.get_or_insert_with(|| {
                    tokio::time::Instant::now() + router.config.hello_timeout
                });
            } else {
                deadline = None;
            }
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let frame = tokio::select! {
            _ = kill.cancelled() => break,
            _ = router.shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                if session.begin_shutdown().await == Flow::Close {
                    break;
                }
                deadline = Some(tokio::time::Instant::now() + router.config.goodbye_timeout);
                continue;
            }
            _ = sleep => {
                if !shutting_down {
                    session.violation("no HELLO received in time").await;
                }
                break;
            }
            frame = stream.next() => frame,
        };
        let bytes: Bytes = match frame {
            None => break,
            Some(Ok(WsMessage::Text(t))) => Bytes::from(t),
            Some(Ok(WsMessage::Binary(b))) => b,
            Some(Ok(WsMessage::Close(_))) => break,
            Some(Ok(_)) => continue, // ping, pong: tungstenite answers pings itself
            Some(Err(WsError::Capacity(e))) => {
                session
                    .violation(format!(
                        "message too large ({e}); the limit is {} bytes",
                        router.config.max_message_size
                    ))
                    .await;
                break;
            }
            Some(Err(e)) => {
                tracing::debug!("read failed: {e}");
                break;
            }
        };
        let flow = match serializer.decode(&bytes) {
            Ok(msg) => session.handle(msg).await,
            Err(e) => session.violation(format!("undecodable message: {e}")).await,
        };
        if flow == Flow::Close {
            break;
        }
    }
    session.leave();
    drop(session);
    // The writer sends what is queued (an ABORT or GOODBYE) and closes; bounded in time.
    if tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .is_err()
    {
        kill.cancel();
    }
}

type Sink = futures_util::stream::SplitSink<WebSocketStream<TcpStream>, WsMessage>;

async fn write_loop(
    mut sink: Sink,
    mut rx: OutboxReceiver,
    serializer: Serializer,
    kill: CancellationToken,
    router: Arc<RouterInner>,
) {
    let write_timeout = router.config.write_timeout;
    loop {
        let out = tokio::select! {
            _ = kill.cancelled() => return,
            out = rx.recv() => out,
        };
        let Some(msg) = out else {
            break;
        };
        let frame = match serializer.encode(&msg) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot encode {} for this peer: {e}", msg.name());
                continue;
            }
        };
        let ws_msg = if serializer.is_binary() {
            WsMessage::Binary(frame)
        } else {
            match Utf8Bytes::try_from(frame) {
                Ok(t) => WsMessage::Text(t),
                Err(_) => continue,
            }
        };
        let sent = tokio::select! {
            _ = kill.cancelled() => return,
            r = tokio::time::timeout(write_timeout, sink.send(ws_msg)) => r,
        };
        let Ok(sent) = sent else {
            tracing::warn!(
                timeout = ?write_timeout,
                "disconnecting a peer that stopped reading its messages"
            );
            router
                .stats
                .slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
            kill.cancel();
            return;
        };
        if let Err(e) = sent {
            if !matches!(
                e,
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed
            ) {
                tracing::debug!("write failed: {e}");
            }
            return;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
