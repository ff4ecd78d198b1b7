//! A lean WAMP connection for load, over WebSocket (`ws://`) or RawSocket (`tcp://`): it
//! speaks raw messages with one of our serializers and does nothing else, so the load
//! generator costs as little as it can.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp_runtime::proto::{Dict, Id, Message, Value};
use wamp_runtime::transport::rawsocket::{self, FrameKind};
use wamp_runtime::Serializer;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong on a load connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// The WebSocket failed.
    #[error("WebSocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The RawSocket connection failed.
    #[error("RawSocket: {0}")]
    Raw(String),
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
    link: Sink,
    serializer: Serializer,
}

enum Sink {
    Ws(SplitSink<Ws, WsMessage>),
    Raw(OwnedWriteHalf),
}

/// The receiving half.
pub(crate) struct Rx {
    link: Source,
    serializer: Serializer,
}

enum Source {
    Ws(SplitStream<Ws>),
    Raw(BufReader<OwnedReadHalf>),
}

/// The longest RawSocket frame this side takes (what it announces).
const RAW_MAX: usize = 16 << 20;

fn raw(e: impl std::fmt::Display) -> ConnError {
    ConnError::Raw(e.to_string())
}

impl Tx {
    /// Sends one message.
    pub(crate) async fn send(&mut self, msg: &Message) -> Result<(), ConnError> {
        let frame = self
            .serializer
            .encode(msg)
            .map_err(|e| ConnError::Codec(e.to_string()))?;
        match &mut self.link {
            Sink::Raw(w) => {
                // Header and message in one write: one system call, as a WebSocket frame.
                let head = rawsocket::frame_header(FrameKind::Message, frame.len())
                    .ok_or_else(|| raw("a message over 16 MiB"))?;
                let mut out = Vec::with_capacity(4 + frame.len());
                out.extend_from_slice(&head);
                out.extend_from_slice(&frame);
                w.write_all(&out).await.map_err(raw)?;
            }
            Sink::Ws(sink) => {
                let ws = if self.serializer.is_binary() {
                    WsMessage::Binary(frame)
                } else {
                    WsMessage::Text(
                        Utf8Bytes::try_from(frame).map_err(|e| ConnError::Codec(e.to_string()))?,
                    )
                };
                sink.send(ws).await?;
            }
        }
        Ok(())
    }
}

impl Rx {
    /// Receives the next message.
    pub(crate) async fn recv(&mut self) -> Result<Message, ConnError> {
        loop {
            let bytes = match &mut self.link {
                Source::Raw(r) => match rawsocket::read_frame(r, RAW_MAX).await {
                    Ok((FrameKind::Message, b)) => b,
                    // A ping goes unanswered: a load run is shorter than a keepalive.
                    Ok(_) => continue,
                    Err(rawsocket::FrameError::Closed) => return Err(ConnError::Closed),
                    Err(e) => return Err(raw(e)),
                },
                Source::Ws(stream) => match stream.next().await {
                    None | Some(Ok(WsMessage::Close(_))) => return Err(ConnError::Closed),
                    Some(Ok(WsMessage::Binary(b))) => b,
                    Some(Ok(WsMessage::Text(t))) => bytes::Bytes::from(t),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                },
            };
            return self
                .serializer
                .decode(&bytes)
                .map_err(|e| ConnError::Codec(e.to_string()));
        }
    }
}

/// Opens a RawSocket connection to `addr` (`host:port`) and does its handshake.
async fn open_raw(addr: &str, serializer: Serializer) -> Result<(Tx, Rx), ConnError> {
    let mut tcp = TcpStream::connect(addr).await.map_err(raw)?;
    let _ = tcp.set_nodelay(true);
    let hello = rawsocket::handshake(serializer, RAW_MAX);
    tcp.write_all(&hello).await.map_err(raw)?;
    let mut answer = [0u8; 4];
    tokio::io::AsyncReadExt::read_exact(&mut tcp, &mut answer)
        .await
        .map_err(raw)?;
    if answer[0] != rawsocket::MAGIC || answer[1] & 0x0f != hello[1] & 0x0f {
        return Err(raw(format!("handshake refused: {answer:02x?}")));
    }
    let (r, w) = tcp.into_split();
    let tx = Tx {
        link: Sink::Raw(w),
        serializer,
    };
    let rx = Rx {
        link: Source::Raw(BufReader::with_capacity(4096, r)),
        serializer,
    };
    Ok((tx, rx))
}

/// Opens a WebSocket to `url`.
async fn open_ws(url: &str, serializer: Serializer) -> Result<(Tx, Rx), ConnError> {
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
    let tx = Tx {
        link: Sink::Ws(sink),
        serializer,
    };
    let rx = Rx {
        link: Source::Ws(stream),
        serializer,
    };
    Ok((tx, rx))
}

/// Connects to `url` (`ws://…` or RawSocket's `tcp://host:port`), joins `realm` and
/// returns the halves and the session ID.
pub(crate) async fn join(
    url: &str,
    realm: &str,
    serializer: Serializer,
) -> Result<(Tx, Rx, Id), ConnError> {
    let (mut tx, mut rx) = match url.strip_prefix("tcp://") {
        Some(addr) => open_raw(addr.trim_end_matches('/'), serializer).await?,
        None => open_ws(url, serializer).await?,
    };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use wamp_runtime::proto::Payload;

    /// A subscriber over one transport hears a publisher over the other: both halves of
    /// both kinds of connection carry messages.
    #[tokio::test]
    async fn a_lean_connection_speaks_websocket_and_rawsocket() {
        let router = wamp_router::Router::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .rawsocket("127.0.0.1:0".parse().unwrap())
            .realm("realm1")
            .start()
            .await
            .unwrap();
        let raw = format!("tcp://{}", router.rawsocket_addr().unwrap());
        for (sub_url, pub_url) in [(raw.clone(), router.url()), (router.url(), raw)] {
            for serializer in [Serializer::Json, Serializer::MsgPack, Serializer::Cbor] {
                let (mut stx, mut srx, _) = join(&sub_url, "realm1", serializer).await.unwrap();
                let subscribe = Message::Subscribe {
                    request: 1,
                    options: Dict::new(),
                    topic: "bench.t".into(),
                };
                stx.send(&subscribe).await.unwrap();
                assert!(matches!(
                    srx.recv().await.unwrap(),
                    Message::Subscribed { .. }
                ));
                let (mut ptx, _prx, _) = join(&pub_url, "realm1", serializer).await.unwrap();
                let publish = Message::Publish {
                    request: 2,
                    options: Dict::new(),
                    topic: "bench.t".into(),
                    payload: Payload::args(vec![Value::from(7u64)]),
                };
                ptx.send(&publish).await.unwrap();
                match srx.recv().await.unwrap() {
                    Message::Event { payload, .. } => {
                        let args = payload.args_values().unwrap();
                        assert_eq!(args[0].as_u64(), Some(7), "{serializer:?}");
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        router.shutdown().await;
    }
}
