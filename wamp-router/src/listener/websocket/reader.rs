//! The reading side of a WebSocket connection: frames off the socket, decoded into WAMP
//! messages for the session. An idle connection holds no read buffer: it waits for bytes
//! with a buffer on the stack, and keeps a heap buffer only while a frame is incomplete or
//! more bytes are in hand.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::AsyncRead;
use wamp_runtime::Serializer;

use super::frame::{Frame, FrameError, FrameReader, Next};
use crate::listener::connection::{Inbound, Incoming};
use crate::listener::idle_read::read_more;
use crate::metrics::Stats;
use crate::outbox::{Control, Outbox};

/// Reads a client's frames, answers its pings and closes, and decodes its messages.
pub(super) struct WsInbound<R> {
    rd: R,
    /// Bytes read and not yet taken as frames; empty and unallocated while idle.
    buf: BytesMut,
    frames: FrameReader,
    serializer: Serializer,
    max_message_size: usize,
    stats: Arc<Stats>,
    /// Where pongs and close replies go (the connection's writer sends them).
    out: Outbox,
}

impl<R> WsInbound<R> {
    /// A reader that starts with `early`: bytes that came right after the upgrade request.
    pub fn new(
        rd: R,
        early: &[u8],
        serializer: Serializer,
        max_message_size: usize,
        stats: Arc<Stats>,
        out: Outbox,
    ) -> Self {
        Self {
            rd,
            buf: BytesMut::from(early),
            frames: FrameReader::default(),
            serializer,
            max_message_size,
            stats,
            out,
        }
    }
}

impl<R: AsyncRead + Send + Unpin> Inbound for WsInbound<R> {
    async fn next(&mut self) -> Incoming {
        loop {
            let needed = match self.frames.next(&mut self.buf, self.max_message_size) {
                Ok(Next::Frame(Frame::Message { payload, .. })) => {
                    return match self.serializer.decode(&payload) {
                        Ok(msg) => {
                            self.stats.received(msg.code(), payload.len());
                            Incoming::Message(msg)
                        }
                        Err(e) => Incoming::Violation(format!("undecodable message: {e}")),
                    };
                }
                Ok(Next::Frame(Frame::Ping(payload))) => {
                    self.out.push_control(Control::Pong(payload));
                    continue;
                }
                Ok(Next::Frame(Frame::Pong)) => continue,
                Ok(Next::Frame(Frame::Close(code))) => {
                    // The close handshake: answer with the peer's code, then the end.
                    self.out.push_control(Control::Close(code));
                    return Incoming::Closed;
                }
                Ok(Next::NeedMore(n)) => n,
                Err(FrameError::TooLarge { size }) => {
                    return Incoming::Violation(format!(
                        "message too large ({size} bytes); the limit is {} bytes",
                        self.max_message_size
                    ));
                }
                Err(e) => {
                    tracing::debug!("WebSocket protocol error: {e}");
                    self.out.push_control(Control::Close(e.close_code()));
                    return Incoming::Closed;
                }
            };
            match read_more(&mut self.rd, &mut self.buf, needed).await {
                Ok(0) => return Incoming::Closed,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("read failed: {e}");
                    return Incoming::Closed;
                }
            }
        }
    }
}
