//! The arguments of an invocation as a typed procedure reads them, parameter by
//! parameter: by position when the caller passed that many positional arguments, else by
//! name from the keyword arguments, else as null (so an `Option` may be left out).
//!
//! A MessagePack invocation's parameters are read straight from its bytes, each argument
//! found once by where it sits; any other goes through values. A parameter that does not
//! read as its type is reported in the same words either way (the value path says it).

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::WampError;
use crate::client::{Args, FromArgs};
use crate::proto::{error, from_value, Dict, Payload, Value, ValueError};
use crate::serializer::msgpack_de::{
    array_len, from_item, from_prefix, map_entries, map_len, one_item,
};
use crate::Serializer;

/// An invocation's arguments, for the parameter readers below.
#[doc(hidden)]
#[derive(Debug)]
pub struct Incoming(Repr);

#[derive(Debug)]
enum Repr {
    Values(Args),
    MsgPack(Indexed),
}

/// MessagePack `args` and `kwargs` (well-formed: the frame's decoder checked them), each
/// argument found when it is read.
#[derive(Debug)]
struct Indexed {
    args: Bytes,
    kwargs: Bytes,
    positional: usize,
}

impl Indexed {
    fn of(payload: &Payload) -> Option<Self> {
        let (serializer, args, kwargs) = payload.encoded_parts()?;
        if serializer != Serializer::MsgPack {
            return None;
        }
        let positional = array_len(args)?;
        let kwargs = match kwargs {
            Some(k) => {
                map_len(k)?;
                k.clone()
            }
            None => Bytes::new(),
        };
        Some(Self {
            args: args.clone(),
            kwargs,
            positional,
        })
    }

    /// The value of keyword argument `name` (the last, should it come twice, as a map of
    /// values keeps it).
    fn kwarg(&self, name: &str) -> Option<&[u8]> {
        map_entries(&self.kwargs)
            .filter(|(k, _)| *k == name)
            .last()
            .map(|(_, v)| v)
    }
}

/// Reads the argument `bytes` start with as `T`; on an error, through a value, for its
/// words.
fn read_item<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    from_prefix(bytes).or_else(|direct| {
        let item = one_item(bytes).unwrap_or(bytes);
        match Serializer::MsgPack.decode_value(&Bytes::copy_from_slice(item)) {
            Ok(v) => from_value(v),
            Err(_) => Err(direct),
        }
    })
}

impl FromArgs for Incoming {
    fn from_args(args: Args) -> Result<Self, ValueError> {
        Ok(Self(Repr::Values(args)))
    }

    fn from_received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        match Indexed::of(payload) {
            Some(indexed) => Ok(Self(Repr::MsgPack(indexed))),
            None => Args::received(payload, details).map(|a| Self(Repr::Values(a))),
        }
    }
}

impl Incoming {
    /// How many positional arguments there are.
    fn positional(&self) -> usize {
        match &self.0 {
            Repr::Values(a) => a.args.len(),
            Repr::MsgPack(m) => m.positional,
        }
    }

    /// The first keyword argument whose name is not one of `names`.
    fn unknown_kwarg(&self, names: &[&str]) -> Option<&str> {
        let known = |k: &&str| names.contains(k);
        match &self.0 {
            Repr::Values(a) => a.kwargs.keys().map(String::as_str).find(|k| !known(k)),
            Repr::MsgPack(m) => map_entries(&m.kwargs).map(|(k, _)| k).find(|k| !known(k)),
        }
    }

    /// Reads positional argument `index` if there is one, else keyword argument `name`,
    /// else null; and says which it read.
    fn read<T: DeserializeOwned>(
        &self,
        index: Option<usize>,
        name: &str,
    ) -> (Result<T, ValueError>, &'static str) {
        match &self.0 {
            Repr::Values(a) => {
                if let Some(v) = index.and_then(|i| a.args.get(i)) {
                    return (from_value(v.clone()), "positional argument");
                }
                match a.kwargs.get(name) {
                    Some(v) => (from_value(v.clone()), "keyword argument"),
                    None => (from_value(Value::Null), "missing argument"),
                }
            }
            Repr::MsgPack(m) => {
                if let Some(bytes) = index.and_then(|i| from_item(&m.args, i)) {
                    return (read_item(bytes), "positional argument");
                }
                match m.kwarg(name) {
                    Some(bytes) => (read_item(bytes), "keyword argument"),
                    None => (from_value(Value::Null), "missing argument"),
                }
            }
        }
    }
}

fn invalid(text: String) -> WampError {
    WampError::with_message(error::INVALID_ARGUMENT, text)
}

/// Reads parameter `index` (called `name`) of an invocation: positionally if the caller
/// passed that many positional arguments, else by name from the keyword arguments, else
/// as null (so an `Option` parameter may be left out).
#[doc(hidden)]
pub fn param<T: DeserializeOwned>(
    args: &Incoming,
    index: usize,
    name: &str,
) -> Result<T, WampError> {
    let (read, how) = args.read(Some(index), name);
    read.map_err(|e| invalid(format!("{how} {name:?} (#{index}): {e}")))
}

/// Reads a parameter that travels only as a keyword argument (`#[wamp(kwarg)]`): absent
/// reads as null, so an `Option` may be left out.
#[doc(hidden)]
pub fn kwarg_param<T: DeserializeOwned>(args: &Incoming, name: &str) -> Result<T, WampError> {
    let (read, _) = args.read(None, name);
    read.map_err(|e| invalid(format!("keyword argument {name:?}: {e}")))
}

/// Refuses a call with more positional arguments than the procedure takes
/// (`positional`), or with a keyword argument that names none of its parameters
/// (`names`): `wamp.error.invalid_argument`, as a Python function refuses them, rather
/// than dropping what the caller meant to say.
#[doc(hidden)]
pub fn check_extras(args: &Incoming, positional: usize, names: &[&str]) -> Result<(), WampError> {
    let given = args.positional();
    if given > positional {
        return Err(invalid(format!(
            "{given} positional arguments given, the procedure takes {positional}"
        )));
    }
    if let Some(unknown) = args.unknown_kwarg(names) {
        return Err(invalid(format!(
            "unknown keyword argument {unknown:?}: the procedure takes {names:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgpack(args: Value, kwargs: Option<Value>) -> Incoming {
        let encode = |v: &Value| {
            let mut out = Vec::new();
            let _ = Serializer::MsgPack.encode_value(v, &mut out);
            Bytes::from(out)
        };
        let payload = Payload::from_encoded(
            Serializer::MsgPack,
            encode(&args),
            kwargs.as_ref().map(encode),
        );
        let read = Incoming::from_received(&payload, &Dict::new());
        assert!(matches!(read, Ok(Incoming(Repr::MsgPack(_)))));
        read.unwrap_or(Incoming(Repr::Values(Args::new())))
    }

    fn values(args: Value, kwargs: Option<Value>) -> Incoming {
        let (Value::List(args), kwargs) = (args, kwargs.unwrap_or(Value::Dict(Dict::new()))) else {
            return Incoming(Repr::Values(Args::new()));
        };
        let Value::Dict(kwargs) = kwargs else {
            return Incoming(Repr::Values(Args::new()));
        };
        Incoming(Repr::Values(Args {
            args,
            kwargs,
            ..Default::default()
        }))
    }

    /// Both ways read the same, values and errors alike.
    fn both(args: Value, kwargs: Option<Value>) -> [Incoming; 2] {
        [msgpack(args.clone(), kwargs.clone()), values(args, kwargs)]
    }

    fn dict(entries: &[(&str, Value)]) -> Value {
        Value::Dict(
            entries
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn parameters_read_alike_from_bytes_and_values() {
        let args = Value::List(vec![Value::Int(7), Value::Str("seven".into())]);
        let kwargs = dict(&[("n", Value::Bool(true)), ("w", Value::Float(0.5))]);
        let [direct, through] = both(args, Some(kwargs));
        for a in [&direct, &through] {
            assert_eq!(param::<u8>(a, 0, "a"), Ok(7));
            assert_eq!(param::<String>(a, 1, "b"), Ok("seven".into()));
            assert_eq!(param::<bool>(a, 2, "n"), Ok(true));
            assert_eq!(param::<Option<u8>>(a, 3, "gone"), Ok(None));
            assert_eq!(kwarg_param::<f64>(a, "w"), Ok(0.5));
            assert_eq!(check_extras(a, 2, &["a", "b", "n", "w"]), Ok(()));
        }
        let errors = |a: &Incoming| {
            [
                param::<String>(a, 0, "a").err(),
                param::<u8>(a, 3, "gone").err(),
                kwarg_param::<u8>(a, "n").err(),
                check_extras(a, 1, &["n", "w"]).err(),
                check_extras(a, 2, &["n"]).err(),
            ]
        };
        let (d, t) = (errors(&direct), errors(&through));
        assert!(d.iter().all(Option::is_some), "{d:?}");
        assert_eq!(d, t);
    }

    #[test]
    fn a_repeated_keyword_argument_reads_as_its_last() {
        // Two entries of one name: only hand-written MessagePack has them.
        let mut kwargs = vec![0x82];
        for v in [1u8, 2] {
            kwargs.extend([0xa1, b'k', v]);
        }
        let payload = Payload::from_encoded(
            Serializer::MsgPack,
            Bytes::from_static(&[0x90]),
            Some(kwargs.into()),
        );
        let a = Incoming::from_received(&payload, &Dict::new());
        let read = a
            .map_err(WampError::from)
            .and_then(|a| kwarg_param::<u8>(&a, "k"));
        assert_eq!(read, Ok(2));
    }
}
