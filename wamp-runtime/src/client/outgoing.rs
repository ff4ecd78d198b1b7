//! Arguments on their way out: a call's, a publication's, a yield's.
//!
//! On a MessagePack or CBOR session a Rust value is written straight into the bytes its
//! frame takes as they are (see [`binary_ser`](crate::serializer::binary_ser)), with the
//! same `args`/`kwargs` mapping as through [`Args`]: no [`Value`] tree is built, nor
//! walked again to encode it. On a JSON or in-process session the value goes through an
//! [`Args`] as before (JSON writes byte strings the WAMP way, from values).

use bytes::Bytes;
use serde::Serialize;

use super::args::{arguments_of, result_of, Args};
use crate::proto::{to_value, Dict, Passthru, Payload, PayloadValues, ValueError};
use crate::serializer::binary_ser::{Binary, Top};
use crate::serializer::Serializer;

/// The serializer a session writes arguments in before their frame is made: MessagePack
/// or CBOR, whose bytes a frame takes as they are, or none (JSON, in-process).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wire(Option<Binary>);

impl Wire {
    /// The wire of a connection speaking `serializer` (`None`: in-process).
    pub(crate) fn of(serializer: Option<Serializer>) -> Self {
        Self(serializer.and_then(Binary::of))
    }

    /// The binary serializer, if it is one.
    pub(crate) fn binary(self) -> Option<Binary> {
        self.0
    }
}

/// Arguments ready to go: their payload (encoded bytes, or values) and the passthru keys
/// of an opaque one.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub(crate) payload: Payload,
    pub(crate) passthru: Passthru,
}

impl From<Args> for Outgoing {
    fn from(mut args: Args) -> Self {
        let passthru = std::mem::take(&mut args.passthru);
        Self {
            payload: args.into_payload(),
            passthru,
        }
    }
}

/// What a buffer of arguments starts with: most payloads fit, and a small allocation
/// costs the same whatever its size.
const BUFFER: usize = 128;

/// Which slot a value written whole fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `args`: the value must be a list.
    Args,
    /// `kwargs`: the value must be a map.
    Kwargs,
}

impl Outgoing {
    pub(crate) fn encoded(bin: Binary, args: Bytes, kwargs: Option<Bytes>) -> Self {
        Self {
            payload: Payload::encoded(bin.serializer(), args, kwargs),
            passthru: Passthru::default(),
        }
    }

    /// `value` as the arguments of a call or a publication (see [`IntoArgs`]).
    ///
    /// [`IntoArgs`]: super::IntoArgs
    pub(crate) fn arguments<T: Serialize + ?Sized>(
        value: &T,
        wire: Wire,
    ) -> Result<Self, ValueError> {
        let Some(bin) = wire.0 else {
            return Ok(arguments_of(to_value(value)?).into());
        };
        // A byte ahead, for the header of a list of one should the value be a scalar.
        let mut buf = Vec::with_capacity(BUFFER);
        buf.push(0);
        Ok(match bin.write(value, &mut buf)? {
            Top::Null | Top::List { empty: true } | Top::Map { empty: true } => Self::default(),
            Top::List { .. } => Self::encoded(bin, Bytes::from(buf).slice(1..), None),
            Top::Map { .. } => {
                let kwargs = Bytes::from(buf).slice(1..);
                Self::encoded(bin, bin.empty_list(), Some(kwargs))
            }
            Top::Other => {
                buf[0] = bin.list_of_one();
                Self::encoded(bin, Bytes::from(buf), None)
            }
        })
    }

    /// `value` as the result of a procedure (see [`IntoResult`]): `args = [value]`, or
    /// nothing for null.
    ///
    /// [`IntoResult`]: super::IntoResult
    pub(crate) fn result<T: Serialize + ?Sized>(value: &T, wire: Wire) -> Result<Self, ValueError> {
        let Some(bin) = wire.0 else {
            return Ok(result_of(to_value(value)?).into());
        };
        let mut buf = Vec::with_capacity(BUFFER);
        buf.push(bin.list_of_one());
        Ok(match bin.write(value, &mut buf)? {
            Top::Null => Self::default(),
            _ => Self::encoded(bin, Bytes::from(buf), None),
        })
    }

    /// `value` as a whole slot: `args` for a list, `kwargs` for a map (an empty one is
    /// no arguments). `Ok(None)` when the session has no binary wire or the value is not
    /// of that kind: the caller goes through a value, which says what it is.
    pub(crate) fn slot<T: Serialize + ?Sized>(
        value: &T,
        slot: Slot,
        wire: Wire,
    ) -> Result<Option<Self>, ValueError> {
        let Some(bin) = wire.0 else { return Ok(None) };
        let mut buf = Vec::with_capacity(BUFFER);
        Ok(match (bin.write(value, &mut buf)?, slot) {
            (Top::List { empty: true }, Slot::Args) | (Top::Map { empty: true }, Slot::Kwargs) => {
                Some(Self::default())
            }
            (Top::List { .. }, Slot::Args) => Some(Self::encoded(bin, buf.into(), None)),
            (Top::Map { .. }, Slot::Kwargs) => {
                Some(Self::encoded(bin, bin.empty_list(), Some(buf.into())))
            }
            _ => None,
        })
    }

    /// Adds keyword arguments from a struct or a map (see [`Args::with_kwargs`]).
    pub(crate) fn with_kwargs(
        self,
        kwargs: impl Serialize,
        wire: Wire,
    ) -> Result<Self, ValueError> {
        if let (Some(bin), true) = (wire.0, self.passthru == Passthru::default()) {
            // Straight into the kwargs slot when it is free and the args are this wire's.
            let args = match self.payload.encoded_parts() {
                Some((s, args, None)) if s == bin.serializer() => Some(args.clone()),
                None if self.payload.is_empty() => Some(bin.empty_list()),
                _ => None,
            };
            if let Some(args) = args {
                let mut buf = Vec::with_capacity(BUFFER);
                match bin.write(&kwargs, &mut buf)? {
                    Top::Null | Top::Map { empty: true } => return Ok(self),
                    Top::Map { .. } => return Ok(Self::encoded(bin, args, Some(buf.into()))),
                    // Refused through a value, in its words.
                    _ => {}
                }
            }
        }
        self.into_args()?.with_kwargs(kwargs).map(Self::from)
    }

    /// Sets the passthru keys in a message's options.
    pub(crate) fn apply(&self, options: &mut Dict) {
        self.passthru.apply(options);
    }

    /// The arguments as values (for what keeps them as such, a testament).
    pub(crate) fn into_args(self) -> Result<Args, ValueError> {
        let values = self.payload.to_values();
        let mut args = match values.map_err(|e| ValueError(e.to_string()))? {
            PayloadValues::Empty => Args::new(),
            PayloadValues::Args { args, kwargs } => Args {
                args,
                kwargs: kwargs.unwrap_or_default(),
                ..Default::default()
            },
            PayloadValues::Transparent(v) => Args {
                args: vec![v],
                ..Default::default()
            },
        };
        args.passthru = self.passthru;
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Value;

    fn wires() -> [Wire; 3] {
        [
            Wire::of(Some(Serializer::MsgPack)),
            Wire::of(Some(Serializer::Cbor)),
            Wire::of(None),
        ]
    }

    /// What a payload says, whatever its encoding.
    fn read(o: &Outgoing) -> PayloadValues {
        o.payload.to_values().unwrap_or(PayloadValues::Empty)
    }

    #[derive(Serialize)]
    struct Named {
        a: u8,
    }

    #[test]
    fn arguments_map_as_through_args() {
        for wire in wires() {
            let same = |v: &dyn Fn(Wire) -> Result<Outgoing, ValueError>, args: Args| {
                let direct = v(wire).map(|o| read(&o));
                assert_eq!(direct, Ok(read(&Outgoing::from(args))), "{wire:?}");
            };
            same(&|w| Outgoing::arguments(&(), w), Args::new());
            same(&|w| Outgoing::arguments(&Vec::<u8>::new(), w), Args::new());
            same(
                &|w| Outgoing::arguments(&(2, "x"), w),
                Args::new()
                    .arg(2)
                    .and_then(|a| a.arg("x"))
                    .unwrap_or_default(),
            );
            same(
                &|w| Outgoing::arguments(&Named { a: 1 }, w),
                Args::new().kwarg("a", 1).unwrap_or_default(),
            );
            same(
                &|w| Outgoing::arguments(&"one", w),
                Args::new().arg("one").unwrap_or_default(),
            );
            same(&|w| Outgoing::result(&(), w), Args::new());
            same(
                &|w| Outgoing::result(&(1, 2), w),
                Args::new().arg((1, 2)).unwrap_or_default(),
            );
            same(
                &|w| Outgoing::result(&Named { a: 1 }, w),
                Args::new().arg(Named { a: 1 }).unwrap_or_default(),
            );
            same(
                &|w| Outgoing::arguments(&(7,), w)?.with_kwargs(Named { a: 1 }, w),
                Args::new()
                    .arg(7)
                    .and_then(|a| a.kwarg("a", 1))
                    .unwrap_or_default(),
            );
            same(
                &|w| Outgoing::arguments(&Named { a: 1 }, w)?.with_kwargs(Named { a: 2 }, w),
                Args::new().kwarg("a", 2).unwrap_or_default(),
            );
            same(
                &|w| Outgoing::arguments(&(), w)?.with_kwargs((), w),
                Args::new(),
            );
        }
    }

    #[test]
    fn binary_arguments_are_bytes_of_the_wire() {
        let o = Outgoing::arguments(&(1, 2), Wire::of(Some(Serializer::Cbor)));
        let parts = o.as_ref().ok().and_then(|o| o.payload.encoded_parts());
        assert_eq!(parts.map(|p| p.0), Some(Serializer::Cbor));
        let json = Outgoing::arguments(&(1, 2), Wire::of(Some(Serializer::Json)));
        assert!(json.is_ok_and(|o| o.payload.encoded_parts().is_none()));
    }

    #[test]
    fn whole_slots_and_what_is_refused() {
        let wire = Wire::of(Some(Serializer::MsgPack));
        let list = Outgoing::slot(&(1, 2), Slot::Args, wire);
        let read_list = list.ok().flatten().map(|o| read(&o));
        assert_eq!(
            read_list,
            Some(PayloadValues::Args {
                args: vec![Value::Int(1), Value::Int(2)],
                kwargs: None
            })
        );
        let kw = Outgoing::slot(&Named { a: 3 }, Slot::Kwargs, wire);
        assert!(kw.is_ok_and(|o| o.is_some()));
        let not_a_map = Outgoing::slot(&5, Slot::Kwargs, wire);
        assert!(matches!(not_a_map, Ok(None)));
        let bad = Outgoing::arguments(&(), wire).and_then(|o| o.with_kwargs(5, wire));
        let through = Args::new().with_kwargs(5);
        assert_eq!(bad.err(), through.err(), "refused in the same words");
    }
}
