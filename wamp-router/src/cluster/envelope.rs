//! The binary envelope that carries a message from one node to another.
//!
//! ```text
//! version u8 | kind u8 | sequence u64 | meta length u32 | meta (the kind's fields) | payload
//! payload:  0                                            no payload
//!           1 serializer u8 | args length u32 | args | kwargs flag u8 [| length u32 | kwargs]
//!           2 value (MessagePack)                        an opaque (transparent) payload
//! ```
//!
//! The payload keeps the bytes it arrived in, tagged with their serializer, so the
//! receiving node forwards them untouched to peers of that serializer and transcodes them
//! once per other serializer, as a single router does. The header (version, kind,
//! sequence) is written per destination; the rest is encoded once per message and shared.
//! The metadata is the kind's fields in a fixed order ([`super::fields`]).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use wamp_runtime::proto::Payload;
use wamp_runtime::Serializer;

use super::fields::{Reader, Writer};

/// The envelope format this node writes and reads (2: the metadata as fixed fields, no
/// longer a MessagePack dictionary).
const VERSION: u8 = 2;
/// Version, kind, sequence.
pub(crate) const HEADER_LEN: usize = 10;

/// What an envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An event of a publication, for the destination's subscribers.
    Event = 1,
    /// A call routed to a callee of the destination.
    Call = 2,
    /// The next part of a progressive call invocation.
    Continue = 3,
    /// The caller canceled a call.
    Cancel = 4,
    /// A RESULT or ERROR for a caller on the destination.
    Reply = 5,
    /// A caller left: the calls it waits for end.
    CallerGone = 6,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Event,
            2 => Self::Call,
            3 => Self::Continue,
            4 => Self::Cancel,
            5 => Self::Reply,
            6 => Self::CallerGone,
            _ => return None,
        })
    }
}

/// A message between nodes.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub kind: Kind,
    /// Its place among the envelopes its sender sent to this destination (from 1).
    pub sequence: u64,
    /// What the kind needs besides the payload (realm, URI, IDs, options): its fields,
    /// read with [`Envelope::fields`].
    pub meta: Bytes,
    pub payload: Payload,
}

/// An envelope that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("envelope too short")]
    Truncated,
    #[error("envelope version {0} is not version {VERSION}: the nodes run different releases")]
    Version(u8),
    #[error("unknown envelope kind {0}")]
    Kind(u8),
    #[error("unknown payload form {0}")]
    PayloadForm(u8),
    #[error("unknown serializer {0}")]
    Serializer(u8),
    #[error("envelope metadata: {0}")]
    Meta(String),
}

/// The part of an envelope shared by every destination: kind, metadata and payload.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub kind: Kind,
    pub bytes: Bytes,
}

fn serializer_tag(s: Serializer) -> u8 {
    match s {
        Serializer::Json => 1,
        Serializer::MsgPack => 2,
        Serializer::Cbor => 3,
    }
}

fn serializer_from(tag: u8) -> Result<Serializer, EnvelopeError> {
    match tag {
        1 => Ok(Serializer::Json),
        2 => Ok(Serializer::MsgPack),
        3 => Ok(Serializer::Cbor),
        other => Err(EnvelopeError::Serializer(other)),
    }
}

/// Encodes what follows the header: `meta` (the kind's fields) and the payload. Fails
/// only when a value cannot be encoded at all.
pub(crate) fn body(kind: Kind, meta: Writer, payload: &Payload) -> Result<Body, String> {
    let meta = meta.finish();
    let mut out = Vec::with_capacity(64 + meta.len() + payload_size(payload));
    out.put_u32(len32(meta.len())?);
    out.extend_from_slice(&meta);
    if payload.is_empty() {
        out.put_u8(0);
    } else if let Some(v) = payload.as_transparent() {
        out.put_u8(2);
        Serializer::MsgPack
            .encode_value(v, &mut out)
            .map_err(|e| e.to_string())?;
    } else {
        // Decoded values (from an in-process session) travel as MessagePack.
        let owned;
        let (serializer, args, kwargs) = match payload.encoded_parts() {
            Some(parts) => parts,
            None => {
                owned = payload
                    .encoded_for(Serializer::MsgPack)
                    .map_err(|e| e.to_string())?;
                owned
                    .encoded_parts()
                    .ok_or_else(|| "payload could not be encoded".to_owned())?
            }
        };
        out.put_u8(1);
        out.put_u8(serializer_tag(serializer));
        out.put_u32(len32(args.len())?);
        out.extend_from_slice(args);
        match kwargs {
            None => out.put_u8(0),
            Some(k) => {
                out.put_u8(1);
                out.put_u32(len32(k.len())?);
                out.extend_from_slice(k);
            }
        }
    }
    Ok(Body {
        kind,
        bytes: Bytes::from(out),
    })
}

/// The bytes the payload's encoded parts take (0 for another form).
fn payload_size(payload: &Payload) -> usize {
    payload.encoded_parts().map_or(0, |(_, args, kwargs)| {
        args.len() + kwargs.map_or(0, |k| k.len())
    })
}

fn len32(n: usize) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{n} bytes do not fit an envelope"))
}

/// The whole envelope for one destination: the header, then the shared body.
pub(crate) fn frame(body: &Body, sequence: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN + body.bytes.len());
    out.put_u8(VERSION);
    out.put_u8(body.kind as u8);
    out.put_u64(sequence);
    out.extend_from_slice(&body.bytes);
    out.freeze()
}

/// Envelopes for one destination sent as one NATS message, in order: each is
/// `length u32 | envelope`. Fewer, larger messages cost NATS and both nodes less than one
/// message per envelope; the drain fills a batch only with what is already queued.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    buf: BytesMut,
}

impl Batch {
    /// Bytes queued so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// What `body` adds to a batch.
    pub fn cost(body: &Body) -> usize {
        4 + HEADER_LEN + body.bytes.len()
    }

    /// Appends the envelope of `body` with its `sequence`.
    pub fn push(&mut self, body: &Body, sequence: u64) {
        self.buf.reserve(Self::cost(body));
        // An envelope is refused at the edge long before 4 GiB (`max_message_size`).
        self.buf
            .put_u32(u32::try_from(HEADER_LEN + body.bytes.len()).unwrap_or(u32::MAX));
        self.buf.put_u8(VERSION);
        self.buf.put_u8(body.kind as u8);
        self.buf.put_u64(sequence);
        self.buf.extend_from_slice(&body.bytes);
    }

    /// The batch's bytes; the batch is empty again.
    pub fn take(&mut self) -> Bytes {
        self.buf.split().freeze()
    }
}

/// The envelopes of a batch, in order; a length that runs past the end is an error and
/// ends the batch.
pub(crate) fn unbatch(mut batch: Bytes) -> impl Iterator<Item = Result<Bytes, EnvelopeError>> {
    std::iter::from_fn(move || {
        if batch.is_empty() {
            return None;
        }
        let next = take(&mut batch);
        if next.is_err() {
            batch.clear();
        }
        Some(next)
    })
}

impl Envelope {
    /// Reads an envelope; never panics on bad bytes.
    pub fn decode(mut frame: Bytes) -> Result<Self, EnvelopeError> {
        if frame.len() < HEADER_LEN + 4 {
            return Err(EnvelopeError::Truncated);
        }
        let version = frame.get_u8();
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let kind_byte = frame.get_u8();
        let kind = Kind::from_u8(kind_byte).ok_or(EnvelopeError::Kind(kind_byte))?;
        let sequence = frame.get_u64();
        let meta = take(&mut frame)?;
        let payload = match byte(&mut frame)? {
            0 => Payload::empty(),
            1 => {
                let serializer = serializer_from(byte(&mut frame)?)?;
                let args = take(&mut frame)?;
                let kwargs = match byte(&mut frame)? {
                    0 => None,
                    _ => Some(take(&mut frame)?),
                };
                Payload::from_encoded(serializer, args, kwargs)
            }
            2 => match Serializer::MsgPack.decode_value(&frame) {
                Ok(v) => Payload::transparent(v),
                Err(e) => return Err(EnvelopeError::Meta(e.to_string())),
            },
            other => return Err(EnvelopeError::PayloadForm(other)),
        };
        Ok(Self {
            kind,
            sequence,
            meta,
            payload,
        })
    }
}

impl Envelope {
    /// A reader of the metadata's fields, from the first (the realm).
    pub fn fields(&self) -> Reader<'_> {
        Reader::new(&self.meta)
    }
}

fn byte(frame: &mut Bytes) -> Result<u8, EnvelopeError> {
    if frame.is_empty() {
        return Err(EnvelopeError::Truncated);
    }
    Ok(frame.get_u8())
}

/// A length-prefixed part.
fn take(frame: &mut Bytes) -> Result<Bytes, EnvelopeError> {
    if frame.len() < 4 {
        return Err(EnvelopeError::Truncated);
    }
    let n = frame.get_u32() as usize;
    if frame.len() < n {
        return Err(EnvelopeError::Truncated);
    }
    Ok(frame.split_to(n))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wamp_runtime::proto::{Dict, Message, Value};

    fn meta() -> Writer {
        let mut w = Writer::new("realm1");
        w.id(7);
        w
    }

    /// The fields `meta` writes, read back.
    fn read_meta(e: &Envelope) -> (String, u64) {
        let mut r = e.fields();
        (r.text().unwrap().to_owned(), r.id().unwrap())
    }

    /// A payload as it arrives in a frame of `serializer`.
    fn arrived(serializer: Serializer) -> Payload {
        let mut kwargs = Dict::new();
        kwargs.insert("k".into(), Value::Str("v".into()));
        let msg = Message::Publish {
            request: 1,
            options: Dict::new(),
            topic: "t".into(),
            payload: Payload::new(vec![Value::from(1u64), Value::Str("é".into())], kwargs),
        };
        match serializer
            .decode(&serializer.encode(&msg).unwrap())
            .unwrap()
        {
            Message::Publish { payload, .. } => payload,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_payload_keeps_its_bytes_and_serializer() {
        for s in [Serializer::Json, Serializer::MsgPack, Serializer::Cbor] {
            let payload = arrived(s);
            let b = body(Kind::Event, meta(), &payload).unwrap();
            let e = Envelope::decode(frame(&b, 42)).unwrap();
            assert_eq!(e.kind, Kind::Event);
            assert_eq!(e.sequence, 42);
            assert_eq!(read_meta(&e), ("realm1".to_owned(), 7));
            let (ser, args, kwargs) = e.payload.encoded_parts().unwrap();
            let (ser0, args0, kwargs0) = payload.encoded_parts().unwrap();
            assert_eq!((ser, args, kwargs), (ser0, args0, kwargs0));
        }
    }

    #[test]
    fn empty_decoded_and_transparent_payloads_cross() {
        let values = Payload::args(vec![Value::from(3u64)]);
        let opaque = Payload::transparent(Value::Bytes(vec![1, 2, 3]));
        for p in [Payload::empty(), values, opaque] {
            let e = Envelope::decode(frame(&body(Kind::Event, meta(), &p).unwrap(), 1)).unwrap();
            assert_eq!(e.payload, p);
            assert_eq!(e.payload.is_empty(), p.is_empty());
            assert_eq!(e.payload.as_transparent(), p.as_transparent());
        }
    }

    #[test]
    fn a_batch_carries_envelopes_in_order() {
        let mut batch = Batch::default();
        let bodies: Vec<Body> = (0..3u64)
            .map(|i| {
                let mut m = Writer::new("realm1");
                m.id(i);
                body(Kind::Call, m, &arrived(Serializer::MsgPack)).unwrap()
            })
            .collect();
        for (i, b) in bodies.iter().enumerate() {
            batch.push(b, i as u64 + 5);
        }
        assert_eq!(batch.len(), bodies.iter().map(Batch::cost).sum::<usize>());
        let bytes = batch.take();
        assert!(batch.is_empty());
        let read: Vec<Envelope> = unbatch(bytes.clone())
            .map(|f| Envelope::decode(f.unwrap()).unwrap())
            .collect();
        assert_eq!(read.len(), 3);
        for (i, e) in read.iter().enumerate() {
            assert_eq!(e.sequence, i as u64 + 5);
            assert_eq!(read_meta(e), ("realm1".to_owned(), i as u64));
        }
        // A cut batch yields what is whole, then one error, then ends.
        let cut: Vec<_> = unbatch(bytes.slice(..bytes.len() - 1)).collect();
        assert_eq!(cut.len(), 3);
        assert!(cut[0].is_ok() && cut[1].is_ok() && cut[2].is_err());
        let mut long = bytes.to_vec();
        long[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let read: Vec<_> = unbatch(long.into()).collect();
        assert_eq!(read.len(), 1);
        assert!(read[0].is_err());
    }

    #[test]
    fn bad_bytes_are_an_error_never_a_panic() {
        let good = frame(
            &body(Kind::Event, meta(), &arrived(Serializer::Cbor)).unwrap(),
            1,
        );
        for n in 0..good.len() {
            let _ = Envelope::decode(good.slice(..n));
        }
        let mut wrong = good.to_vec();
        wrong[0] = 9;
        assert!(matches!(
            Envelope::decode(wrong.into()),
            Err(EnvelopeError::Version(9))
        ));
        let mut kind = good.to_vec();
        kind[1] = 200;
        assert!(matches!(
            Envelope::decode(kind.into()),
            Err(EnvelopeError::Kind(200))
        ));
        let mut lengths = good.to_vec();
        lengths[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Envelope::decode(lengths.into()).is_err());
    }
}
