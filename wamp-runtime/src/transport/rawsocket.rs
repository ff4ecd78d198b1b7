//! WAMP over RawSocket: the 4-octet handshake, length-prefixed frames with PING/PONG, and
//! the client transport for `tcp://host:port` and `unix:///path`. The framing functions
//! are shared with the router's listener.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::batch::Batch;
use super::keepalive::{Keepalive, Seen, Tick};
use super::{BoxFuture, ConnectOptions, Connector, Incoming, Transport, TransportError};
use crate::proto::Message;
use crate::serializer::Serializer;

/// The client's write buffer: a batch of ordinary messages.
const WRITE_BUFFER: usize = 8 * 1024;

/// The client's read buffer: several ordinary messages in one read.
const READ_BUFFER: usize = 8 * 1024;

/// The first octet of every handshake.
pub const MAGIC: u8 = 0x7F;

/// The largest length a frame header can carry (24 bits).
pub const MAX_FRAME: usize = (1 << 24) - 1;

/// Handshake error codes (the upper 4 bits of an error reply's second octet).
pub mod handshake_error {
    /// The serializer requested is not supported.
    pub const SERIALIZER_UNSUPPORTED: u8 = 1;
    /// The maximum message length is not acceptable.
    pub const LENGTH_UNACCEPTABLE: u8 = 2;
    /// Reserved bits are used.
    pub const RESERVED_BITS: u8 = 3;
    /// Too many connections.
    pub const CONNECTION_LIMIT: u8 = 4;
}

/// The RawSocket serializer ID of a serializer.
pub fn serializer_id(s: Serializer) -> u8 {
    match s {
        Serializer::Json => 1,
        Serializer::MsgPack => 2,
        Serializer::Cbor => 3,
    }
}

/// The serializer of a RawSocket serializer ID.
pub fn serializer_of(id: u8) -> Option<Serializer> {
    match id {
        1 => Some(Serializer::Json),
        2 => Some(Serializer::MsgPack),
        3 => Some(Serializer::Cbor),
        _ => None,
    }
}

/// The `LENGTH` exponent announcing at most `max` octets: the largest `2^(9+L)` not above
/// it (at least 512 octets, at most 16 MiB).
pub fn length_exponent(max: usize) -> u8 {
    if max >= MAX_FRAME {
        return 15;
    }
    let mut l = 0u8;
    while l < 15 && (1usize << (10 + l)) <= max {
        l += 1;
    }
    l
}

/// The maximum message length that a `LENGTH` exponent announces, capped to what a frame
/// header can carry.
pub fn max_length(exponent: u8) -> usize {
    (1usize << (9 + u32::from(exponent.min(15)))).min(MAX_FRAME)
}

/// The handshake octets: a request, or a success reply.
pub fn handshake(serializer: Serializer, max_receive: usize) -> [u8; 4] {
    [
        MAGIC,
        (length_exponent(max_receive) << 4) | serializer_id(serializer),
        0,
        0,
    ]
}

/// A handshake error reply.
pub fn handshake_refusal(code: u8) -> [u8; 4] {
    [MAGIC, code << 4, 0, 0]
}

/// The kind of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A serialized WAMP message.
    Message,
    /// A PING, to be answered with a PONG carrying the same payload.
    Ping,
    /// A PONG.
    Pong,
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection (between frames).
    #[error("connection closed")]
    Closed,
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(String),
    /// The frame is longer than the length this side announced.
    #[error("a frame of {len} octets exceeds the announced maximum of {max}")]
    TooLong {
        /// The frame's length.
        len: usize,
        /// The maximum announced.
        max: usize,
    },
    /// Reserved bits are set, or the frame type is unknown.
    #[error("invalid frame header {0:#04x}")]
    BadHeader(u8),
}

/// Reads one frame, refusing those longer than `max` before allocating them.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<(FrameKind, Bytes), FrameError> {
    let mut head = [0u8; 4];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e.to_string())),
    }
    let (kind, len) = parse_header(head, max)?;
    let mut buf = BytesMut::zeroed(len);
    r.read_exact(&mut buf)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    Ok((kind, buf.freeze()))
}

/// The kind and payload length a frame's 4-octet header gives, checked against `max`.
pub fn parse_header(head: [u8; 4], max: usize) -> Result<(FrameKind, usize), FrameError> {
    let kind = match head[0] {
        0 => FrameKind::Message,
        1 => FrameKind::Ping,
        2 => FrameKind::Pong,
        other => return Err(FrameError::BadHeader(other)),
    };
    let len = (usize::from(head[1]) << 16) | (usize::from(head[2]) << 8) | usize::from(head[3]);
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    Ok((kind, len))
}

/// The 4-octet header of a frame whose payload is `len` octets, or `None` when the length
/// does not fit in 24 bits.
pub fn frame_header(kind: FrameKind, len: usize) -> Option<[u8; 4]> {
    if len > MAX_FRAME {
        return None;
    }
    let t = match kind {
        FrameKind::Message => 0,
        FrameKind::Ping => 1,
        FrameKind::Pong => 2,
    };
    // The length fits in 24 bits: checked above.
    Some([t, (len >> 16) as u8, (len >> 8) as u8, len as u8])
}

/// Writes one frame (its payload must fit in 24 bits) and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: FrameKind,
    payload: &[u8],
) -> std::io::Result<()> {
    queue_frame(w, kind, payload).await?;
    w.flush().await
}

/// Writes one frame (its payload must fit in 24 bits) without flushing: for a buffered
/// writer that sends several frames in one write.
pub async fn queue_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: FrameKind,
    payload: &[u8],
) -> std::io::Result<()> {
    let head = frame_header(kind, payload.len()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "frame payload over 16 MiB",
        )
    })?;
    w.write_all(&head).await?;
    w.write_all(payload).await
}

/// Connects to a `tcp://host:port`, `tcps://host:port` (TLS) or `unix:///path` RawSocket
/// URL.
#[derive(Debug, Clone)]
pub struct RawSocketConnector {
    url: String,
}

impl RawSocketConnector {
    /// A connector for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }
}

impl Connector for RawSocketConnector {
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

/// Opens a RawSocket connection to `url` (`tcp://host:port`, `tcps://host:port` or
/// `unix:///path`).
pub async fn connect(url: String, options: ConnectOptions) -> Result<Transport, TransportError> {
    let failed = |reason: String| TransportError::Connect {
        url: url.clone(),
        reason,
    };
    if let Some(addr) = url.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        start(stream, &url, options, None).await
    } else if let Some(addr) = url.strip_prefix("tcps://") {
        let addr = addr.trim_end_matches('/');
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| failed(format!("TLS server name {host:?}: {e}")))?;
        let config = match options.tls.clone() {
            Some(cfg) => cfg,
            None => super::default_tls().map_err(|e| failed(format!("TLS setup: {e}")))?,
        };
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| failed(format!("TLS handshake: {e}")))?;
        let binding = super::channel_binding(tls.get_ref().1);
        start(tls, &url, options, binding).await
    } else if let Some(path) = url.strip_prefix("unix://") {
        #[cfg(unix)]
        {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| failed(format!("{path}: {e}")))?;
            start(stream, &url, options, None).await
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Err(failed("Unix domain sockets need a Unix system".into()))
        }
    } else {
        Err(TransportError::InvalidUrl {
            url: url.clone(),
            reason: "a RawSocket URL is tcp://host:port, tcps://host:port or unix:///path".into(),
        })
    }
}

/// The handshake on an open stream, then the reader and writer tasks.
async fn start<S>(
    mut stream: S,
    url: &str,
    options: ConnectOptions,
    channel_binding: Option<[u8; 32]>,
) -> Result<Transport, TransportError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let failed = |reason: String| TransportError::Connect {
        url: url.to_owned(),
        reason,
    };
    let serializer = options.serializer;
    let max_receive = options.max_message_size.clamp(512, MAX_FRAME);
    stream
        .write_all(&handshake(serializer, max_receive))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut reply = [0u8; 4];
    stream
        .read_exact(&mut reply)
        .await
        .map_err(|e| failed(format!("no handshake reply: {e}")))?;
    if reply[0] != MAGIC {
        return Err(failed(format!(
            "not a RawSocket router (first octet {:#04x})",
            reply[0]
        )));
    }
    if reply[1] & 0x0F == 0 {
        let reason = match reply[1] >> 4 {
            handshake_error::SERIALIZER_UNSUPPORTED => "serializer unsupported",
            handshake_error::LENGTH_UNACCEPTABLE => "maximum message length unacceptable",
            handshake_error::RESERVED_BITS => "use of reserved bits",
            handshake_error::CONNECTION_LIMIT => "maximum connection count reached",
            _ => "unknown error",
        };
        return Err(failed(format!(
            "the router refused the handshake: {reason}"
        )));
    }
    if reply[1] & 0x0F != serializer_id(serializer) {
        return Err(failed("the router answered with another serializer".into()));
    }
    let max_send = max_length(reply[1] >> 4);
    tracing::debug!(%url, %serializer, max_send, "RawSocket connected");

    let (rd, wr) = tokio::io::split(stream);
    let mut wr = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, wr);
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(256);
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<Bytes>();
    let (mut keepalive, seen) = Keepalive::new(options.keepalive);
    let reading = Reading {
        rd: tokio::io::BufReader::with_capacity(READ_BUFFER, rd),
        seen,
        serializer,
        max_receive,
        pong_tx,
    };
    // The frames are read and decoded by whoever reads `incoming`; nothing after an error.
    let incoming = futures_util::stream::unfold(Some(reading), |reading| async move {
        let mut reading = reading?;
        let item = reading.next().await?;
        let more = item.is_ok().then_some(reading);
        Some((item, more))
    });

    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                pong = pong_rx.recv() => match pong {
                    Some(p) => {
                        if write_frame(&mut wr, FrameKind::Pong, &p).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    None => return,
                },
                tick = keepalive.tick() => {
                    let sent = match tick {
                        Tick::Alive => Ok(()),
                        Tick::Ping => write_frame(&mut wr, FrameKind::Ping, b"keepalive").await,
                        Tick::Dead => return keepalive.bury(),
                    };
                    if sent.is_err() {
                        return;
                    }
                    continue;
                }
                m = out_rx.recv() => m,
            };
            let Some(msg) = msg else { break };
            // What is queued behind it goes out in the same write (see `Batch`).
            let mut next = Some(msg);
            let mut batch = Batch::default();
            while let Some(msg) = next.take() {
                if let Some(frame) = encode_within(serializer, &msg, max_send) {
                    if queue_frame(&mut wr, FrameKind::Message, &frame)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                next = batch.next(&mut out_rx).await;
            }
            if wr.flush().await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });

    Ok(Transport {
        outgoing: out_tx,
        incoming: Incoming::from_stream(incoming),
        serializer: Some(serializer),
        channel_binding,
    })
}

/// The reading half of a client connection.
struct Reading<R> {
    rd: tokio::io::BufReader<R>,
    seen: Seen,
    serializer: Serializer,
    max_receive: usize,
    /// PINGs to answer, for the writer.
    pong_tx: mpsc::UnboundedSender<Bytes>,
}

impl<R: AsyncRead + Unpin> Reading<R> {
    /// The next message, or why the connection broke; `None` once it closed.
    async fn next(&mut self) -> Option<Result<Message, TransportError>> {
        loop {
            let frame = tokio::select! {
                biased;
                why = self.seen.dead() => return Some(Err(why)),
                frame = read_frame(&mut self.rd, self.max_receive) => frame,
            };
            self.seen.mark();
            match frame {
                Ok((FrameKind::Message, bytes)) => {
                    let decoded = self.serializer.decode(&bytes);
                    return Some(decoded.map_err(|e| TransportError::Decode(e.to_string())));
                }
                Ok((FrameKind::Ping, payload)) => {
                    let _ = self.pong_tx.send(payload);
                }
                Ok((FrameKind::Pong, _)) => {}
                Err(FrameError::Closed) => return None,
                Err(e) => return Some(Err(TransportError::Io(e.to_string()))),
            }
        }
    }
}

/// The frame of `msg`, or `None` (logged) if it cannot be encoded or is longer than the
/// router takes.
fn encode_within(serializer: Serializer, msg: &Message, max_send: usize) -> Option<Bytes> {
    let frame = match serializer.encode(msg) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("cannot encode {}: {e}; not sent", msg.name());
            return None;
        }
    };
    if frame.len() > max_send {
        tracing::warn!(
            len = frame.len(),
            max_send,
            "{} exceeds the router's maximum message length; not sent",
            msg.name()
        );
        return None;
    }
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_exponents() {
        assert_eq!(length_exponent(0), 0);
        assert_eq!(length_exponent(512), 0);
        assert_eq!(length_exponent(1023), 0);
        assert_eq!(length_exponent(1024), 1);
        assert_eq!(length_exponent(16 * 1024 * 1024), 15);
        assert_eq!(length_exponent(MAX_FRAME), 15);
        assert_eq!(length_exponent(usize::MAX), 15);
        assert_eq!(max_length(0), 512);
        assert_eq!(max_length(15), MAX_FRAME);
        assert_eq!(handshake(Serializer::MsgPack, 16 << 20), [0x7F, 0xF2, 0, 0]);
        assert_eq!(handshake_refusal(1), [0x7F, 0x10, 0, 0]);
    }

    #[tokio::test]
    async fn frames_round_trip_and_overlong_frames_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        write_frame(&mut a, FrameKind::Message, b"[1]")
            .await
            .unwrap_or_default();
        write_frame(&mut a, FrameKind::Ping, b"hi")
            .await
            .unwrap_or_default();
        write_frame(&mut a, FrameKind::Message, &[0u8; 600])
            .await
            .unwrap_or_default();
        assert_eq!(
            read_frame(&mut b, 512).await,
            Ok((FrameKind::Message, Bytes::from_static(b"[1]")))
        );
        assert_eq!(
            read_frame(&mut b, 512).await,
            Ok((FrameKind::Ping, Bytes::from_static(b"hi")))
        );
        assert_eq!(
            read_frame(&mut b, 512).await,
            Err(FrameError::TooLong { len: 600, max: 512 })
        );
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[9, 0, 0, 0]).await.unwrap_or_default();
        assert_eq!(read_frame(&mut b, 512).await, Err(FrameError::BadHeader(9)));
        drop(a);
        assert_eq!(read_frame(&mut b, 512).await, Err(FrameError::Closed));
    }
}
