//! The writing side of a WebSocket connection: the session's outbound queue as frames,
//! gathered so that a burst leaves in one write, and the close frame last.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use wamp_runtime::Serializer;

use super::frame::{self, close_code, opcode};
use crate::listener::connection::{self, WriteStopped};
use crate::metrics::Stats;
use crate::outbox::{Control, Outbound, OutboxReceiver};
use crate::RouterInner;

/// How many queued messages one write gathers.
const BATCH: usize = 64;

/// Payloads up to this size are copied into the write buffer beside their headers; larger
/// ones are written from their own bytes.
const COPY_LIMIT: usize = 16 * 1024;

/// One frame to write.
enum Piece {
    Data(u8, Bytes),
    Close(u16),
}

/// The frame of what was queued, or `None` (logged) when it cannot be encoded.
fn piece(serializer: Serializer, out: Outbound, stats: &Stats) -> Option<Piece> {
    let data = if serializer.is_binary() {
        opcode::BINARY
    } else {
        opcode::TEXT
    };
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
        Outbound::Control(Control::Pong(payload)) => {
            return Some(Piece::Data(opcode::PONG, payload))
        }
        Outbound::Control(Control::Close(code)) => return Some(Piece::Close(code)),
    };
    stats.sent_bytes(bytes.len());
    Some(Piece::Data(data, bytes))
}

/// Writes the outbound queue until every sender is gone (then a close frame with 1000),
/// a close frame was queued, the connection hangs up, or a write fails or times out.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: OutboxReceiver,
    serializer: Serializer,
    router: Arc<RouterInner>,
) {
    let write_timeout = router.config.write_timeout;
    let mut closed = false;
    // Kept while messages keep coming, given back when the queue runs dry: an idle
    // connection holds no buffer.
    let mut batch = Vec::new();
    let mut buf = Vec::new();
    while !closed {
        let out = match rx.try_recv() {
            Some(out) => Some(out),
            None => {
                (batch, buf) = (Vec::new(), Vec::new());
                rx.recv().await
            }
        };
        let Some(first) = out else {
            if rx.is_hung_up() {
                return;
            }
            break;
        };
        let mut next = Some(first);
        while let Some(out) = next.take() {
            match piece(serializer, out, &router.stats) {
                Some(Piece::Close(code)) => {
                    batch.push(Piece::Close(code));
                    closed = true;
                    break;
                }
                Some(p) => batch.push(p),
                None => {}
            }
            if batch.len() < BATCH {
                next = rx.try_recv();
            }
        }
        let write = std::pin::pin!(write_batch(&mut wr, &mut batch, &mut buf));
        match connection::bounded_write(write, write_timeout, rx.hung_up()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("write failed: {e}");
                return;
            }
            Err(WriteStopped::Killed) => return,
            Err(WriteStopped::TimedOut) => return connection::too_slow(&router, &rx),
        }
    }
    let end = async {
        if !closed {
            let close = &mut vec![Piece::Close(close_code::NORMAL)];
            write_batch(&mut wr, close, &mut Vec::new()).await?;
        }
        wr.shutdown().await
    };
    // Boxed: the end's state is not part of every writer's.
    let _ = Box::pin(tokio::time::timeout(Duration::from_secs(1), end)).await;
}

/// Writes `batch` (emptied) and flushes: small frames gathered in `buf`, large payloads
/// from their own bytes.
async fn write_batch<W: AsyncWrite + Unpin>(
    wr: &mut W,
    batch: &mut Vec<Piece>,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.clear();
    for p in batch.drain(..) {
        match p {
            Piece::Close(code) => frame::put_close(buf, code),
            Piece::Data(op, payload) => {
                frame::put_header(buf, op, payload.len());
                if payload.len() <= COPY_LIMIT {
                    buf.extend_from_slice(&payload);
                } else {
                    wr.write_all(buf).await?;
                    buf.clear();
                    wr.write_all(&payload).await?;
                }
            }
        }
    }
    wr.write_all(buf).await?;
    wr.flush().await
}
