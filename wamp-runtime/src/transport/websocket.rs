//! The WebSocket client transport (`ws://` and `wss://` with rustls): the handshake with
//! the WAMP subprotocol, then one task that decodes frames and one that encodes them.

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How much one read may take in: a burst of ordinary messages.
const READ_BUFFER: usize = 8 * 1024;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::Connector as TlsConnector;

use super::keepalive::{Keepalive, Tick};
use super::{BoxFuture, ConnectOptions, Connector, Transport, TransportError};
use crate::proto::Message;

/// How many messages wait in each direction before the sender waits.
const CHANNEL_CAPACITY: usize = 256;

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

    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(CHANNEL_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (mut keepalive, seen) = Keepalive::new(options.keepalive);

    let reader_tx = in_tx.clone();
    let reader = tokio::spawn(async move {
        let fail = |e: TransportError| async {
            let _ = reader_tx.send(Err(e)).await;
        };
        while let Some(frame) = stream.next().await {
            seen.mark();
            let bytes = match frame {
                Ok(WsMessage::Text(t)) => bytes::Bytes::from(t),
                Ok(WsMessage::Binary(b)) => b,
                Ok(WsMessage::Close(_)) => break,
                Ok(_) => continue,
                Err(WsError::ConnectionClosed) => break,
                Err(e) => return fail(TransportError::Io(e.to_string())).await,
            };
            match serializer.decode(&bytes) {
                Ok(msg) => {
                    if reader_tx.send(Ok(msg)).await.is_err() {
                        return;
                    }
                }
                Err(e) => return fail(TransportError::Decode(e.to_string())).await,
            }
        }
    });

    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = out_rx.recv() => m,
                tick = keepalive.tick() => {
                    let sent = match tick {
                        Tick::Alive => Ok(()),
                        Tick::Ping => sink.send(WsMessage::Ping(bytes::Bytes::new())).await,
                        Tick::Dead => return keepalive.bury(&reader, &in_tx).await,
                    };
                    if sent.is_err() {
                        return;
                    }
                    continue;
                }
            };
            // Every sender is gone: the session is over.
            let Some(msg) = msg else { break };
            let frame = match serializer.encode(&msg) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!("cannot encode {}: {e}; not sent", msg.name());
                    continue;
                }
            };
            let ws_msg = if serializer.is_binary() {
                WsMessage::Binary(frame)
            } else {
                match Utf8Bytes::try_from(frame) {
                    Ok(text) => WsMessage::Text(text),
                    Err(_) => continue,
                }
            };
            if let Err(e) = sink.send(ws_msg).await {
                tracing::debug!("WebSocket write failed: {e}");
                return;
            }
        }
        let _ = sink.close().await;
    });

    Ok(Transport {
        outgoing: out_tx,
        incoming: in_rx,
        serializer: Some(serializer),
        channel_binding,
    })
}
