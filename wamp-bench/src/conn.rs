//! A lean WAMP-over-WebSocket connection for load: it speaks raw messages with one of our
//! serializers and does nothing else, so the load generator costs as little as it can.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp_runtime::proto::{Dict, Id, Message, Value};
use wamp_runtime::Serializer;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong on a load connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// The WebSocket failed.
    #[error("WebSocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// A message did not encode or decode.
    #[error("codec: {0}")]
    Codec(String),
    /// The router closed the connection.
    #[error("the connection closed")]
    Closed,
    /// The router answered something else than expected.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// The sending half.
pub(crate) struct Tx {
    sink: SplitSink<Ws, WsMessage>,
    serializer: Serializer,
}

/// The receiving half.
pub(crate) struct Rx {
    stream: SplitStream<Ws>,
    serializer: Serializer,
}

impl Tx {
    /// Sends one message.
    pub(crate) async fn send(&mut self, msg: &Message) -> Result<(), ConnError> {
        let frame = self
            .serializer
            .encode(msg)
            .map_err(|e| ConnError::Codec(e.to_string()))?;
        let ws = if self.serializer.is_binary() {
            WsMessage::Binary(frame)
        } else {
            WsMessage::Text(
                Utf8Bytes::try_from(frame).map_err(|e| ConnError::Codec(e.to_string()))?,
            )
        };
        self.sink.send(ws).await?;
        Ok(())
    }
}

impl Rx {
    /// Receives the next message.
    pub(crate) async fn recv(&mut self) -> Result<Message, ConnError> {
        loop {
            let bytes = match self.stream.next().await {
                None | Some(Ok(WsMessage::Close(_))) => return Err(ConnError::Closed),
                Some(Ok(WsMessage::Binary(b))) => b,
                Some(Ok(WsMessage::Text(t))) => bytes::Bytes::from(t),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            };
            return self
                .serializer
                .decode(&bytes)
                .map_err(|e| ConnError::Codec(e.to_string()));
        }
    }
}

/// Opens a WebSocket to `url`, joins `realm` and returns the halves and the session ID.
pub(crate) async fn join(
    url: &str,
    realm: &str,
    serializer: Serializer,
) -> Result<(Tx, Rx, Id), ConnError> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(serializer.subprotocol()),
    );
    // A small read buffer: the `sessions` scenario opens thousands of connections.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        let _ = tcp.set_nodelay(true);
    }
    let (sink, stream) = ws.split();
    let mut tx = Tx { sink, serializer };
    let mut rx = Rx { stream, serializer };
    let mut roles = Dict::new();
    for r in ["caller", "callee", "publisher", "subscriber"] {
        roles.insert(r.into(), Value::Dict(Dict::new()));
    }
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles));
    tx.send(&Message::Hello {
        realm: realm.into(),
        details,
    })
    .await?;
    match rx.recv().await? {
        Message::Welcome { session, .. } => Ok((tx, rx, session)),
        other => Err(ConnError::Unexpected(format!(
            "{other:?} instead of WELCOME"
        ))),
    }
}

/// Joins, sends `msg` (a REGISTER or SUBSCRIBE) and waits for its acknowledgement.
pub(crate) async fn join_with(
    load: &crate::Load,
    url: &str,
    msg: Message,
) -> Result<(Tx, Rx), ConnError> {
    let (mut tx, mut rx, _) = join(url, &load.realm, load.serializer).await?;
    tx.send(&msg).await?;
    match rx.recv().await? {
        Message::Registered { .. } | Message::Subscribed { .. } => Ok((tx, rx)),
        other => Err(ConnError::Unexpected(format!("{other:?}"))),
    }
}
