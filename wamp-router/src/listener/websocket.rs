//! The WebSocket transport: the accept loop, subprotocol negotiation, and the two tasks of
//! each connection (one reads and drives the session, one writes).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use wamp_runtime::Serializer;

use super::connection::{self, Inbound, Incoming, Io, WriteStopped};
use super::settings::{ConnectionInfo, ListenerContext};
use super::web;
use crate::metrics::Stats;
use crate::outbox::{Outbound, OutboxReceiver};
use crate::RouterInner;

/// The read buffer of a connection: enough for a burst of ordinary messages in one read
/// (a larger message gets room for its whole length once its frame header is read), and
/// small enough for tens of thousands of mostly idle sessions.
const READ_BUFFER: usize = 2 * 1024;

/// Accepts WebSocket connections (over TLS with `tls`) until the router shuts down.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Arc<RouterInner>,
    ctx: Arc<ListenerContext>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    connection::accept_tcp(listener, router, ctx, tls, serve::<Box<dyn Io>>).await;
}

/// Picks the first WAMP subprotocol of the client's list that this listener allows.
fn negotiate(req: &Request, ctx: &ListenerContext) -> Option<Serializer> {
    req.headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| Serializer::from_subprotocol(p.trim()))
        .find(|s| ctx.allows(*s))
}

fn refuse(status: StatusCode, text: &str) -> ErrorResponse {
    let mut resp = ErrorResponse::new(Some(text.to_owned()));
    *resp.status_mut() = status;
    resp
}

async fn serve<S>(mut stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // RawSocket on the same port: its handshake opens with 0x7F, HTTP with a letter.
    if let Some(raw) = conn.listener.rawsocket.clone() {
        use tokio::io::AsyncReadExt;
        let mut first = [0u8; 1];
        let read = stream.read_exact(&mut first);
        if !matches!(
            tokio::time::timeout(router.config.hello_timeout, read).await,
            Ok(Ok(_))
        ) {
            return tracing::debug!("nothing received in time");
        }
        let stream = web::Prefixed::new(first.to_vec(), stream);
        if first[0] == 0x7f {
            let conn = ConnectionInfo {
                listener: raw,
                ..conn
            };
            return Box::pin(super::rawsocket::serve(stream, conn, router)).await;
        }
        return Box::pin(serve_http(stream, conn, router)).await;
    }
    serve_http(stream, conn, router).await;
}

async fn serve_http<S>(mut stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // The request head decides: a WebSocket upgrade is WAMP (at a path the listener
    // serves), anything else plain HTTP.
    let deadline = router.config.hello_timeout;
    let read = web::read_head(&mut stream);
    let Ok(Some(head)) = tokio::time::timeout(deadline, read).await else {
        return tracing::debug!("no HTTP request head in time");
    };
    if !head.upgrade {
        if let Some((lp, rest)) = conn.listener.for_longpoll(&head.path) {
            let rest = rest.to_owned();
            super::longpoll::serve(stream, head, &rest, lp, conn, router).await;
            return;
        }
        let answer = web::answer(&mut stream, &head, conn.listener.for_files(&head.path));
        let _ = tokio::time::timeout(deadline, answer).await;
        return;
    }
    let Some(ctx) = conn.listener.for_upgrade(&head.path) else {
        let answer = web::not_found(&mut stream);
        let _ = tokio::time::timeout(deadline, answer).await;
        return;
    };
    let conn = ConnectionInfo {
        listener: ctx.clone(),
        ..conn
    };
    let stream = web::Prefixed::new(head.bytes, stream);
    let max = ctx.max_message_size;
    // tungstenite's default read buffer is 128 KiB per connection, allocated up front: with
    // many mostly idle sessions that is most of a router's memory. Reads grow it as needed.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let slot = ctx.admit();
    let mut chosen = None;
    let offered: Vec<&str> = ctx.serializers.iter().map(|s| s.subprotocol()).collect();
    // The callback's error type is tungstenite's HTTP response: large, and not ours to change.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| match negotiate(req, &ctx) {
        _ if slot.is_none() => Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "this listener serves as many sessions as it may; try again later",
        )),
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
            &format!(
                "no supported WAMP subprotocol offered: use one of {}",
                offered.join(", ")
            ),
        )),
    };
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
    // Boxed: the handshake's state is only needed until it is done.
    let ws = match Box::pin(tokio::time::timeout(router.config.hello_timeout, handshake)).await {
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
    // Split here rather than in `drive`: a future keeps room for its arguments for as long
    // as it lives, and a whole WebSocketStream is a few KiB per session.
    let (sink, stream) = ws.split();
    drive(sink, stream, serializer, conn, router).await;
    drop(slot);
}

/// Reads WebSocket frames and decodes them.
struct WsInbound<S> {
    stream: futures_util::stream::SplitStream<WebSocketStream<S>>,
    serializer: Serializer,
    max_message_size: usize,
    stats: Arc<Stats>,
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin> Inbound for WsInbound<S> {
    async fn next(&mut self) -> Incoming {
        loop {
            let bytes: Bytes = match self.stream.next().await {
                None => return Incoming::Closed,
                Some(Ok(WsMessage::Text(t))) => Bytes::from(t),
                Some(Ok(WsMessage::Binary(b))) => b,
                Some(Ok(WsMessage::Close(_))) => return Incoming::Closed,
                Some(Ok(_)) => continue, // ping, pong: tungstenite answers pings itself
                Some(Err(WsError::Capacity(e))) => {
                    return Incoming::Violation(format!(
                        "message too large ({e}); the limit is {} bytes",
                        self.max_message_size
                    ))
                }
                Some(Err(e)) => {
                    tracing::debug!("read failed: {e}");
                    return Incoming::Closed;
                }
            };
            return match self.serializer.decode(&bytes) {
                Ok(msg) => {
                    self.stats.received(msg.code(), bytes.len());
                    Incoming::Message(msg)
                }
                Err(e) => Incoming::Violation(format!("undecodable message: {e}")),
            };
        }
    }
}

async fn drive<S>(
    sink: Sink<S>,
    stream: futures_util::stream::SplitStream<WebSocketStream<S>>,
    serializer: Serializer,
    conn: ConnectionInfo,
    router: Arc<RouterInner>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (out, rx, kill) = connection::open(&router);
    let writer = tokio::spawn(tracing::Instrument::in_current_span(write_loop(
        sink,
        rx,
        serializer,
        kill.clone(),
        router.clone(),
    )));
    let inbound = WsInbound {
        stream,
        serializer,
        max_message_size: conn.listener.max_message_size,
        stats: router.stats.clone(),
    };
    connection::drive(router, Some(serializer), conn, inbound, out, kill, writer).await;
}

type Sink<S> = futures_util::stream::SplitSink<WebSocketStream<S>, WsMessage>;

/// How many queued messages one write gathers before it flushes.
const BATCH: usize = 64;

/// The WebSocket frame of what was queued, or `None` (logged) when it cannot be encoded.
fn frame(serializer: Serializer, out: Outbound, stats: &Stats) -> Option<WsMessage> {
    let bytes = match out {
        Outbound::Event(bytes) => {
            stats.sent(wamp_runtime::proto::code::EVENT, 1);
            bytes
        }
        Outbound::Message(msg) => match stats.encode(serializer, &msg) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot encode {} for this peer: {e}", msg.name());
                return None;
            }
        },
    };
    stats.sent_bytes(bytes.len());
    if serializer.is_binary() {
        Some(WsMessage::Binary(bytes))
    } else {
        Utf8Bytes::try_from(bytes).ok().map(WsMessage::Text)
    }
}

/// Writes the outbound queue: each message as it comes, and when several are queued, up to
/// [`BATCH`] of them with one flush (one system call rather than one each).
async fn write_loop<S: AsyncRead + AsyncWrite + Unpin>(
    mut sink: Sink<S>,
    mut rx: OutboxReceiver,
    serializer: Serializer,
    kill: CancellationToken,
    router: Arc<RouterInner>,
) {
    let write_timeout = router.config.write_timeout;
    // One waiter on the kill token for the whole loop, not one per message.
    let mut killed = std::pin::pin!(kill.cancelled());
    loop {
        let out = tokio::select! {
            biased;
            out = rx.recv() => out,
            _ = &mut killed => return,
        };
        let Some(first) = out else {
            break;
        };
        let write = async {
            let mut next = Some(first);
            let mut n = 0;
            while let Some(msg) = next.take() {
                if let Some(f) = frame(serializer, msg, &router.stats) {
                    sink.feed(f).await?;
                }
                n += 1;
                if n < BATCH {
                    next = rx.try_recv();
                }
            }
            sink.flush().await
        };
        match connection::bounded_write(write, write_timeout, &kill).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                if !matches!(
                    e,
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed
                ) {
                    tracing::debug!("write failed: {e}");
                }
                return;
            }
            Err(WriteStopped::Killed) => return,
            Err(WriteStopped::TimedOut) => return connection::too_slow(&router, &kill),
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
