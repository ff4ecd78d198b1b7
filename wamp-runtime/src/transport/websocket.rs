//! The WebSocket client transport (`ws://` and `wss://` with rustls): the handshake with
//! the WAMP subprotocol, then a task that encodes frames; the task that reads the
//! connection's [`Incoming`] decodes them.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, Stream, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{Connector as TlsConnector, MaybeTlsStream, WebSocketStream};

use super::batch::Batch;
use super::keepalive::{Keepalive, Seen, Tick};
use super::{BoxFuture, ConnectOptions, Connector, Incoming, Transport, TransportError};
use crate::proto::Message;
use crate::serializer::Serializer;

/// How many messages wait to be written before the sender waits.
const CHANNEL_CAPACITY: usize = 256;

/// How much one read may take in: a burst of ordinary messages.
const READ_BUFFER: usize = 8 * 1024;

/// Connects to a WebSocket URL.
#[derive(Debug, Clone)]
pub struct WebSocketConnector {
    url: String,
}

impl WebSocketConnector {
    /// A connector for `url` (`ws://…` or `wss://…`).
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }
}

impl Connector for WebSocketConnector {
    fn connect(
        &self,
        options: &ConnectOptions,
    ) -> BoxFuture<'static, Result<Transport, TransportError>> {
        Box::pin(connect(self.url.clone(), options.clone()))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

/// What a failed handshake says: for an HTTP refusal, the status and the server's reason.
fn refusal(e: WsError) -> String {
    match e {
        WsError::Http(resp) => {
            let body = resp
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            format!("HTTP {}: {}", resp.status(), body.trim())
        }
        other => other.to_string(),
    }
}

/// Opens a WebSocket to `url` speaking `options.serializer`.
pub async fn connect(url: String, options: ConnectOptions) -> Result<Transport, TransportError> {
    let invalid = |reason: String| TransportError::InvalidUrl {
        url: url.clone(),
        reason,
    };
    let failed = |reason: String| TransportError::Connect {
        url: url.clone(),
        reason,
    };
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(invalid("the scheme must be ws:// or wss://".into()));
    }
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| invalid(e.to_string()))?;
    let serializer = options.serializer;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(serializer.subprotocol()),
    );
    // tungstenite zero-fills its whole read room before every read: at its default of
    // 128 KiB that was an eighth of a busy subscriber's time. A larger message still
    // arrives whole (the buffer grows to a frame's length once its header is read).
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(options.max_message_size))
        .max_frame_size(Some(options.max_message_size));
    let tls = if url.starts_with("wss://") {
        let cfg = match options.tls {
            Some(cfg) => cfg,
            None => super::default_tls().map_err(|e| failed(format!("TLS setup: {e}")))?,
        };
        Some(TlsConnector::Rustls(cfg))
    } else {
        None
    };
    let (ws, response) =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, tls)
            .await
            .map_err(|e| failed(refusal(e)))?;
    let chosen = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok());
    if chosen != Some(serializer.subprotocol()) {
        return Err(failed(format!(
            "the server did not accept the subprotocol {} (it answered {chosen:?})",
            serializer.subprotocol()
        )));
    }
    tracing::debug!(%url, %serializer, "WebSocket connected");
    let channel_binding = match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Rustls(tls) => super::channel_binding(tls.get_ref().1),
        _ => None,
    };

    let (mut sink, stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(CHANNEL_CAPACITY);
    let (mut keepalive, seen) = Keepalive::new(options.keepalive);
    let reading = Reading {
        stream,
        seen,
        serializer,
        ended: false,
    };

    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = out_rx.recv() => m,
                tick = keepalive.tick() => {
                    let sent = match tick {
                        Tick::Alive => Ok(()),
                        Tick::Ping => sink.send(WsMessage::Ping(bytes::Bytes::new())).await,
                        Tick::Dead => return keepalive.bury(),
                    };
                    if sent.is_err() {
                        return;
                    }
                    continue;
                }
            };
            // Every sender is gone: the session is over.
            let Some(msg) = msg else { break };
            // What is queued behind it goes out in the same write (see `Batch`).
            let mut next = Some(msg);
            let mut batch = Batch::default();
            while let Some(msg) = next.take() {
                if let Some(frame) = ws_frame(serializer, &msg) {
                    if let Err(e) = sink.feed(frame).await {
                        tracing::debug!("WebSocket write failed: {e}");
                        return;
                    }
                }
                next = batch.next(&mut out_rx).await;
            }
            if let Err(e) = sink.flush().await {
                tracing::debug!("WebSocket write failed: {e}");
                return;
            }
        }
        let _ = sink.close().await;
    });

    Ok(Transport {
        outgoing: out_tx,
        incoming: Incoming::from_stream(reading),
        serializer: Some(serializer),
        channel_binding,
    })
}

/// The reading half of a connection: its frames decoded, for whoever reads the
/// connection's [`Incoming`]. Nothing comes after an error.
struct Reading {
    stream: SplitStream<WebSocketStream<MaybeTlsStream<TcpStream>>>,
    seen: Seen,
    serializer: Serializer,
    ended: bool,
}

impl Stream for Reading {
    type Item = Result<Message, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            let frame = match this.stream.poll_next_unpin(cx) {
                Poll::Ready(frame) => frame,
                // Only a connection with nothing to read can be dead.
                Poll::Pending => {
                    return match this.seen.poll_dead(cx) {
                        Poll::Ready(why) => {
                            this.ended = true;
                            Poll::Ready(Some(Err(why)))
                        }
                        Poll::Pending => Poll::Pending,
                    }
                }
            };
            let Some(frame) = frame else {
                this.ended = true;
                return Poll::Ready(None);
            };
            this.seen.mark();
            let bytes = match frame {
                Ok(WsMessage::Text(t)) => bytes::Bytes::from(t),
                Ok(WsMessage::Binary(b)) => b,
                Ok(WsMessage::Close(_)) | Err(WsError::ConnectionClosed) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Ok(_) => continue,
                Err(e) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(TransportError::Io(e.to_string()))));
                }
            };
            let decoded = this.serializer.decode(&bytes);
            let item = decoded.map_err(|e| TransportError::Decode(e.to_string()));
            this.ended = item.is_err();
            return Poll::Ready(Some(item));
        }
    }
}

/// The frame that carries `msg`, or `None` (logged) if it cannot be encoded.
fn ws_frame(serializer: Serializer, msg: &Message) -> Option<WsMessage> {
    let frame = match serializer.encode(msg) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("cannot encode {}: {e}; not sent", msg.name());
            return None;
        }
    };
    if serializer.is_binary() {
        return Some(WsMessage::Binary(frame));
    }
    // The JSON serializer writes UTF-8.
    Utf8Bytes::try_from(frame).ok().map(WsMessage::Text)
}
