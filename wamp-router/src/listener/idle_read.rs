//! Reading a connection without holding a buffer while it is idle: a read waits with a
//! buffer on the poll's stack, and the connection keeps a heap buffer only while a frame
//! is incomplete or more bytes keep coming. With tens of thousands of idle sessions, a
//! read buffer kept for the life of each connection would be much of a router's memory.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, ReadBuf};

/// The most one read takes when nothing is buffered (on the stack of the poll), and the
/// room a busy connection's buffer is given.
const STACK_READ: usize = 4 * 1024;

/// The room in the buffer that makes a read go straight into it.
const DIRECT_READ: usize = 1024;

/// Reads once, appending to `buf`, which must come to hold `needed` bytes for the next
/// frame. With room in `buf` (a long frame, or a busy connection) the read goes straight
/// into it; otherwise into a buffer on the stack, so that waiting costs nothing. A buffer
/// left empty is given back whenever the socket has nothing to read.
pub(crate) async fn read_more<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    needed: usize,
) -> std::io::Result<usize> {
    let missing = needed.saturating_sub(buf.len());
    if missing > STACK_READ {
        // `needed` is within the message size limit: the frame reader checked it.
        buf.reserve(missing);
    }
    std::future::poll_fn(|cx| {
        if buf.capacity() - buf.len() >= DIRECT_READ {
            let read = tokio_util::io::poll_read_buf(Pin::new(&mut *rd), cx, buf);
            if read.is_pending() && buf.is_empty() {
                *buf = BytesMut::new();
            }
            return read;
        }
        let mut chunk = [MaybeUninit::<u8>::uninit(); STACK_READ];
        let mut read = ReadBuf::uninit(&mut chunk);
        let polled = Pin::new(&mut *rd).poll_read(cx, &mut read);
        if polled.is_pending() && buf.is_empty() {
            // Too little room to read into, and nothing in it: not worth keeping.
            *buf = BytesMut::new();
        }
        ready!(polled)?;
        let n = read.filled().len();
        if n > 0 {
            // Data came: while it keeps coming, reads go straight into this buffer.
            buf.reserve(STACK_READ.max(n));
            buf.extend_from_slice(read.filled());
        }
        Poll::Ready(Ok(n))
    })
    .await
}
