//! WebSocket frames (RFC 6455 §5) as a server reads and writes them: [`FrameReader`] takes
//! whole frames off the front of a buffer (unmasking them, joining fragments, enforcing
//! what the RFC requires of a client), and [`put_header`] starts a frame the server sends
//! (never masked). No I/O here: the connection's reader owns the buffer and the socket.

use bytes::{Buf, Bytes, BytesMut};

/// Frame opcodes (RFC 6455 §5.2).
pub(crate) mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// Close status codes (RFC 6455 §7.4.1).
pub(crate) mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
}

/// The largest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: u64 = 125;

/// What one complete frame (or, for data, one complete message) carried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole message, its fragments joined; a text message is valid UTF-8.
    Message { text: bool, payload: Bytes },
    /// A ping: the reply is a pong with the same payload.
    Ping(Bytes),
    /// A pong (nothing to do).
    Pong,
    /// The peer closes the connection, with this status code (1000 when it gave none).
    Close(u16),
}

/// What [`FrameReader::next`] found at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A frame, taken off the buffer.
    Frame(Frame),
    /// Not a whole frame yet: the buffer must hold this many bytes in all before a frame
    /// can be taken (the header's length once it is read, so a reader can make room once).
    NeedMore(usize),
}

/// A client broke the framing rules; the connection ends with [`FrameError::close_code`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A message longer than the listener's limit.
    #[error("a message of {size} bytes")]
    TooLarge { size: u64 },
    /// The frame breaks RFC 6455.
    #[error("{0}")]
    Protocol(&'static str),
    /// A text message, or a close reason, that is not UTF-8.
    #[error("text that is not UTF-8")]
    NotUtf8,
}

impl FrameError {
    /// The status code of the close frame that answers it.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::TooLarge { .. } => close_code::TOO_BIG,
            FrameError::Protocol(_) => close_code::PROTOCOL_ERROR,
            FrameError::NotUtf8 => close_code::INVALID_DATA,
        }
    }
}

/// Reads a client's frames; between frames it holds only a fragmented message's start.
#[derive(Debug, Default)]
pub(crate) struct FrameReader {
    /// A message whose first fragments arrived: whether it is text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
}

/// A frame's header, read from the front of a buffer.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header bytes, the mask key included.
    len: usize,
    payload: u64,
}

impl FrameReader {
    /// Takes the next frame off the front of `buf` (a data frame that is not the last of
    /// its message is kept and the next one read); messages longer than `max` bytes are
    /// refused as soon as a header says so.
    pub fn next(&mut self, buf: &mut BytesMut, max: usize) -> Result<Next, FrameError> {
        loop {
            let header = match parse_header(buf)? {
                Ok(h) => h,
                Err(need) => return Ok(Next::NeedMore(need)),
            };
            self.check(&header, max)?;
            // Within `max` (checked above), so it fits a usize.
            let total = header.len + header.payload as usize;
            if buf.len() < total {
                return Ok(Next::NeedMore(total));
            }
            buf.advance(header.len);
            let mut payload = buf.split_to(header.payload as usize);
            unmask(&mut payload, header.mask);
            if let Some(frame) = self.take(header.fin, header.opcode, payload)? {
                return Ok(Next::Frame(frame));
            }
        }
    }

    /// What a header may not say: checked before its payload is waited for.
    fn check(&self, h: &Header, max: usize) -> Result<(), FrameError> {
        match h.opcode {
            opcode::CLOSE | opcode::PING | opcode::PONG => {
                if !h.fin {
                    return Err(FrameError::Protocol("a fragmented control frame"));
                }
                if h.payload > MAX_CONTROL {
                    return Err(FrameError::Protocol("a control frame over 125 bytes"));
                }
            }
            opcode::TEXT | opcode::BINARY if self.partial.is_some() => {
                return Err(FrameError::Protocol(
                    "a new message before the last one's final fragment",
                ));
            }
            opcode::CONTINUATION if self.partial.is_none() => {
                return Err(FrameError::Protocol("a continuation frame with no message"));
            }
            opcode::TEXT | opcode::BINARY | opcode::CONTINUATION => {
                let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len() as u64);
                let size = so_far.saturating_add(h.payload);
                if size > max as u64 {
                    return Err(FrameError::TooLarge { size });
                }
            }
            _ => return Err(FrameError::Protocol("an unknown opcode")),
        }
        Ok(())
    }

    /// A frame's unmasked payload: a frame to hand on, or `None` for a message fragment
    /// that is not the last.
    fn take(&mut self, fin: bool, op: u8, payload: BytesMut) -> Result<Option<Frame>, FrameError> {
        let (text, whole) = match op {
            opcode::PING => return Ok(Some(Frame::Ping(payload.freeze()))),
            opcode::PONG => return Ok(Some(Frame::Pong)),
            opcode::CLOSE => return close_status(&payload).map(|c| Some(Frame::Close(c))),
            opcode::CONTINUATION => {
                let Some((text, so_far)) = self.partial.as_mut() else {
                    return Err(FrameError::Protocol("a continuation frame with no message"));
                };
                so_far.extend_from_slice(&payload);
                if !fin {
                    return Ok(None);
                }
                let text = *text;
                match self.partial.take() {
                    Some((_, whole)) => (text, whole),
                    None => return Ok(None),
                }
            }
            _ if !fin => {
                self.partial = Some((op == opcode::TEXT, payload));
                return Ok(None);
            }
            _ => (op == opcode::TEXT, payload),
        };
        if text && std::str::from_utf8(&whole).is_err() {
            return Err(FrameError::NotUtf8);
        }
        Ok(Some(Frame::Message {
            text,
            payload: whole.freeze(),
        }))
    }
}

/// The header at the front of `buf`, or `Err(n)`: `n` bytes are needed to read it.
fn parse_header(buf: &[u8]) -> Result<Result<Header, usize>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(Err(2));
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Protocol(
            "reserved bits set (no extension was agreed)",
        ));
    }
    if b1 & 0x80 == 0 {
        return Err(FrameError::Protocol("an unmasked frame from a client"));
    }
    let (at, payload) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (4, u64::from(u16::from_be_bytes([a, b]))),
            _ => return Ok(Err(4)),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (10, u64::from_be_bytes(b)),
            None => return Ok(Err(10)),
        },
        n => (2, u64::from(n)),
    };
    if payload >> 63 != 0 {
        return Err(FrameError::Protocol(
            "a payload length with its top bit set",
        ));
    }
    let Some(mask) = buf
        .get(at..at + 4)
        .and_then(|m| <[u8; 4]>::try_from(m).ok())
    else {
        return Ok(Err(at + 4));
    };
    Ok(Ok(Header {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        mask,
        len: at + 4,
        payload,
    }))
}

/// A close frame's status code (RFC 6455 §5.5.1, §7.4): 1000 when it has none.
fn close_status(payload: &[u8]) -> Result<u16, FrameError> {
    let (code, reason) = match payload {
        [] => return Ok(close_code::NORMAL),
        [a, b, reason @ ..] => (u16::from_be_bytes([*a, *b]), reason),
        [_] => return Err(FrameError::Protocol("a close frame with a one-byte status")),
    };
    // Codes a peer may send: the defined ones (not the reserved 1004–1006, 1015) and
    // those for libraries and applications.
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(FrameError::Protocol(
            "a close frame with an invalid status code",
        ));
    }
    if std::str::from_utf8(reason).is_err() {
        return Err(FrameError::NotUtf8);
    }
    Ok(code)
}

/// XORs a client's masking key over a payload (eight bytes at a time).
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let key = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut words = data.chunks_exact_mut(8);
    for word in &mut words {
        if let Ok(w) = <[u8; 8]>::try_from(&*word) {
            word.copy_from_slice(&(u64::from_ne_bytes(w) ^ key).to_ne_bytes());
        }
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Appends the header of an unmasked, final frame of `len` payload bytes.
pub(crate) fn put_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// Appends a close frame with `code` and no reason.
pub(crate) fn put_close(out: &mut Vec<u8>, code: u16) {
    put_header(out, opcode::CLOSE, 2);
    out.extend_from_slice(&code.to_be_bytes());
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
