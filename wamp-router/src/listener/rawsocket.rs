//! The RawSocket transport: accept loops for TCP and Unix domain sockets, the 4-octet
//! handshake, and the two tasks of each connection (framing, PING/PONG, and the maximum
//! message length each side announced).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use wamp_runtime::proto::{code, error, Message};
use wamp_runtime::transport::rawsocket::{self, handshake_error, FrameError, FrameKind, MAGIC};
use wamp_runtime::Serializer;

use super::connection::{self, Inbound, Incoming, Io, WriteStopped};
use super::idle_read::read_more;
use super::settings::{ConnectionInfo, ListenerContext};
use crate::outbox::{Control, Outbound, Outbox, OutboxReceiver};
use crate::session::Session;
use crate::RouterInner;

/// Accepts RawSocket connections over TCP (TLS with `tls`) until the router shuts down.
pub(crate) async fn accept_tcp(
    listener: tokio::net::TcpListener,
    router: Arc<RouterInner>,
    ctx: Arc<ListenerContext>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    connection::accept_tcp(listener, router, ctx, tls, serve::<Box<dyn Io>>).await;
}

/// Accepts Unix domain socket connections until the router shuts down, then removes the
/// socket file.
#[cfg(unix)]
pub(crate) async fn accept_unix(
    listener: tokio::net::UnixListener,
    path: std::path::PathBuf,
    router: Arc<RouterInner>,
    ctx: Arc<ListenerContext>,
) {
    let peer = format!("unix:{}", path.display());
    let accept = || listener.accept();
    connection::accept_until_shutdown(&router, &ctx.label, accept, |(stream, _)| {
        let r = router.clone();
        let conn = ConnectionInfo {
            listener: ctx.clone(),
            channel_binding: None,
            peer: peer.clone(),
        };
        let span = connection::session_span(&conn.peer);
        let task = async move {
            tracing::debug!("RawSocket (Unix) connection accepted");
            serve(stream, conn, r).await;
        };
        router
            .tasks
            .spawn(tracing::Instrument::instrument(task, span));
    })
    .await;
    let _ = std::fs::remove_file(&path);
}

/// The handshake: the serializer and the client's maximum message length, or `None`
/// after refusing (or failing) the connection. `full` refuses it with the "maximum
/// connection count reached" error.
async fn handshake<S>(
    stream: &mut S,
    router: &RouterInner,
    ctx: &ListenerContext,
    full: bool,
) -> Option<(Serializer, usize)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = [0u8; 4];
    let read = tokio::time::timeout(router.config.hello_timeout, stream.read_exact(&mut request));
    match read.await {
        Ok(Ok(_)) => {}
        _ => return None,
    }
    if request[0] != MAGIC {
        tracing::debug!(
            "not a RawSocket handshake (first octet {:#04x})",
            request[0]
        );
        return None;
    }
    let refuse = |code| rawsocket::handshake_refusal(code);
    let reply = if full {
        Err(refuse(handshake_error::CONNECTION_LIMIT))
    } else if request[2] != 0 || request[3] != 0 {
        Err(refuse(handshake_error::RESERVED_BITS))
    } else {
        match rawsocket::serializer_of(request[1] & 0x0F).filter(|s| ctx.allows(*s)) {
            None => Err(refuse(handshake_error::SERIALIZER_UNSUPPORTED)),
            Some(ser) => Ok(ser),
        }
    };
    match reply {
        Err(refusal) => {
            let _ = stream.write_all(&refusal).await;
            let _ = stream.shutdown().await;
            None
        }
        Ok(ser) => {
            let ours = rawsocket::handshake(ser, ctx.max_message_size);
            stream.write_all(&ours).await.ok()?;
            Some((ser, rawsocket::max_length(request[1] >> 4)))
        }
    }
}

pub(crate) async fn serve<S>(mut stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let ctx = conn.listener.clone();
    let slot = ctx.admit();
    let Some((serializer, client_max)) =
        handshake(&mut stream, &router, &ctx, slot.is_none()).await
    else {
        return;
    };
    let exponent = rawsocket::length_exponent(ctx.max_message_size);
    let our_max = rawsocket::max_length(exponent);
    let (rd, wr) = tokio::io::split(stream);
    let (out, rx, kill) = connection::open(&router);
    let writer = tokio::spawn(tracing::Instrument::in_current_span(write_loop(
        wr,
        rx,
        Limits {
            serializer,
            client_max,
        },
        router.clone(),
    )));
    let inbound = RawInbound {
        rd,
        buf: BytesMut::new(),
        max: our_max,
        serializer,
        pongs: out.clone(),
        stats: router.stats.clone(),
    };
    let session = Session::new(router.clone(), Some(serializer), out, conn);
    let session = connection::drive(router.clone(), session, inbound, kill, writer);
    connection::detach(&router, session, slot);
}

/// Reads frames, answers PINGs, and decodes messages. An idle connection holds no read
/// buffer (see [`read_more`]).
struct RawInbound<S> {
    rd: ReadHalf<S>,
    /// Bytes read and not yet taken as frames; empty and unallocated while idle.
    buf: BytesMut,
    max: usize,
    serializer: Serializer,
    /// Where PONGs go (the writer sends them in order with the session's messages).
    pongs: Outbox,
    stats: Arc<crate::metrics::Stats>,
}

impl<S> RawInbound<S> {
    /// The next whole frame in the buffer, or how many bytes it needs to hold one.
    fn frame(&mut self) -> Result<Result<(FrameKind, Bytes), usize>, FrameError> {
        let Some(head) = self.buf.first_chunk::<4>() else {
            return Ok(Err(4));
        };
        let (kind, len) = rawsocket::parse_header(*head, self.max)?;
        if self.buf.len() < 4 + len {
            return Ok(Err(4 + len));
        }
        let mut frame = self.buf.split_to(4 + len);
        bytes::Buf::advance(&mut frame, 4);
        Ok(Ok((kind, frame.freeze())))
    }
}

impl<S: AsyncRead + Send> Inbound for RawInbound<S> {
    async fn next(&mut self) -> Incoming {
        loop {
            let needed = match self.frame() {
                Ok(Ok((FrameKind::Message, bytes))) => {
                    return match self.serializer.decode(&bytes) {
                        Ok(m) => {
                            self.stats.received(m.code(), bytes.len());
                            Incoming::Message(m)
                        }
                        Err(e) => Incoming::Violation(format!("undecodable message: {e}")),
                    };
                }
                Ok(Ok((FrameKind::Ping, payload))) => {
                    self.pongs.push_control(Control::Pong(payload));
                    continue;
                }
                Ok(Ok((FrameKind::Pong, _))) => continue,
                Ok(Err(needed)) => needed,
                Err(FrameError::TooLong { len, max }) => {
                    return Incoming::Violation(format!(
                        "message too large ({len} octets); the limit is {max} octets"
                    ))
                }
                Err(FrameError::BadHeader(b)) => {
                    return Incoming::Violation(format!("invalid RawSocket frame header {b:#04x}"))
                }
                Err(FrameError::Closed | FrameError::Io(_)) => return Incoming::Closed,
            };
            match read_more(&mut self.rd, &mut self.buf, needed).await {
                Ok(0) => return Incoming::Closed,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("RawSocket read failed: {e}");
                    return Incoming::Closed;
                }
            }
        }
    }
}

/// What the writer must respect.
struct Limits {
    serializer: Serializer,
    /// The largest message the client accepts.
    client_max: usize,
}

/// How many queued frames one write gathers.
const BATCH: usize = 64;

/// Frames up to this size are copied into the batch buffer; larger ones are written from
/// their own bytes.
const COPY_LIMIT: usize = 16 * 1024;

/// Writes the outbound queue (PONGs included): when several frames are queued, up to
/// [`BATCH`] of them in one write.
async fn write_loop<S: AsyncWrite>(
    mut wr: WriteHalf<S>,
    mut rx: OutboxReceiver,
    limits: Limits,
    router: Arc<RouterInner>,
) {
    let write_timeout = router.config.write_timeout;
    let mut batch: Vec<(FrameKind, Bytes)> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let next = match rx.try_recv() {
            Some(out) => Some(out),
            None => {
                // The queue ran dry: an idle connection keeps no buffers.
                (batch, buf) = (Vec::new(), Vec::new());
                rx.recv().await
            }
        };
        let first = match next {
            Some(out) => encode_within(out, &limits, &router, &rx),
            None if rx.is_hung_up() => return,
            None => break,
        };
        batch.extend(first);
        while batch.len() < BATCH {
            let Some(out) = rx.try_recv() else { break };
            batch.extend(encode_within(out, &limits, &router, &rx));
        }
        if batch.is_empty() {
            continue;
        }
        let written = {
            let write = std::pin::pin!(write_batch(&mut wr, &mut batch, &mut buf));
            connection::bounded_write(write, write_timeout, rx.hung_up()).await
        };
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("RawSocket write failed: {e}");
                return;
            }
            Err(WriteStopped::Killed) => return,
            Err(WriteStopped::TimedOut) => return connection::too_slow(&router, &rx),
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
}

/// Writes `batch` (emptied) and flushes: small frames gathered in `buf`, large ones from
/// their own bytes.
async fn write_batch<W: AsyncWrite + Unpin>(
    wr: &mut W,
    batch: &mut Vec<(FrameKind, Bytes)>,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.clear();
    for (kind, frame) in batch.drain(..) {
        // encode_within keeps frames within the client's maximum, itself under 16 MiB.
        let Some(head) = rawsocket::frame_header(kind, frame.len()) else {
            continue;
        };
        buf.extend_from_slice(&head);
        if frame.len() <= COPY_LIMIT {
            buf.extend_from_slice(&frame);
        } else {
            wr.write_all(buf).await?;
            buf.clear();
            wr.write_all(&frame).await?;
        }
    }
    wr.write_all(buf).await?;
    wr.flush().await
}

/// The frame of what was queued (a PONG as it is; a message within the client's
/// maximum length). A message too large for the
/// client is never sent: an event is dropped and counted, a result becomes ERROR
/// `wamp.error.payload_size_exceeded` for its caller, and anything else ends the session
/// (its calls then fail with an error rather than hang).
fn encode_within(
    out: Outbound,
    limits: &Limits,
    router: &RouterInner,
    rx: &OutboxReceiver,
) -> Option<(FrameKind, Bytes)> {
    let (frame, msg) = match out {
        Outbound::Control(Control::Pong(payload)) => return Some((FrameKind::Pong, payload)),
        // RawSocket has no close frame: the connection just ends.
        Outbound::Control(Control::Close(_)) => return None,
        Outbound::Event(frame) => {
            router.stats.sent(code::EVENT, 1);
            (frame, None)
        }
        Outbound::Message(msg) => match router.stats.encode(limits.serializer, &msg) {
            Ok(f) => (f, Some(*msg)),
            Err(e) => {
                tracing::warn!("cannot encode {} for this peer: {e}", msg.name());
                return None;
            }
        },
    };
    if frame.len() <= limits.client_max {
        router.stats.sent_bytes(frame.len());
        return Some((FrameKind::Message, frame));
    }
    let text = format!(
        "{} of {} octets exceeds the {} octets the peer accepts",
        msg.as_ref().map_or("EVENT", Message::name),
        frame.len(),
        limits.client_max
    );
    match msg {
        None | Some(Message::Event { .. }) => {
            tracing::warn!("{text}: event dropped");
            router
                .stats
                .dropped_events
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }
        Some(Message::Result { request, .. }) => {
            tracing::warn!("{text}: the caller gets an error instead");
            let e = Message::error(code::CALL, request, error::PAYLOAD_SIZE_EXCEEDED, text);
            let frame = limits.serializer.encode(&e).ok()?;
            Some((FrameKind::Message, frame))
        }
        _ => {
            tracing::warn!("{text}: closing the session");
            rx.hang_up();
            None
        }
    }
}
