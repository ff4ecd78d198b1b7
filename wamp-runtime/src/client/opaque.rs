//! Payload passthru mode: an opaque payload (end-to-end encrypted, or in a format of the
//! application's own) that the router passes on without looking inside.
//!
//! [`Opaque`] is the bytes and the keys that say how they are encoded. It works wherever
//! arguments or results do: pass it to [`Session::call`](super::Session::call) or
//! [`publish`](super::Session::publish), read a call's result, an invocation's arguments
//! or an event as it, and return it from a handler.
//!
//! It is sent the way the spec gives it: `ppt_scheme`, `ppt_serializer`, `ppt_cipher`,
//! `ppt_keyid` in the options, the bytes as the only positional argument. It is read
//! from that form and from Autobahn's (`enc_algo`, `enc_serializer`, `enc_key`, the bytes
//! in place of the argument list).

use super::args::{Args, FromArgs, FromResult, IntoArgs, IntoResult};
use crate::proto::{Dict, Passthru, Value, ValueError};

/// An opaque payload of payload passthru mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opaque {
    /// How the payload is to be read: `ppt_scheme` (Autobahn's `enc_algo`): `wamp`,
    /// `mqtt`, `cryptobox`, `xbr` or an `x_` scheme of the application.
    pub scheme: String,
    /// `ppt_serializer` (Autobahn's `enc_serializer`).
    pub serializer: Option<String>,
    /// `ppt_cipher`.
    pub cipher: Option<String>,
    /// `ppt_keyid` (Autobahn's `enc_key`).
    pub keyid: Option<String>,
    /// The payload.
    pub bytes: Vec<u8>,
}

impl Opaque {
    /// An opaque payload of `scheme` (an `x_` scheme for an application's own format).
    pub fn new(scheme: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            scheme: scheme.into(),
            serializer: None,
            cipher: None,
            keyid: None,
            bytes: bytes.into(),
        }
    }

    /// Sets `ppt_serializer`.
    pub fn serializer(mut self, serializer: impl Into<String>) -> Self {
        self.serializer = Some(serializer.into());
        self
    }

    /// Sets `ppt_cipher`.
    pub fn cipher(mut self, cipher: impl Into<String>) -> Self {
        self.cipher = Some(cipher.into());
        self
    }

    /// Sets `ppt_keyid`.
    pub fn keyid(mut self, keyid: impl Into<String>) -> Self {
        self.keyid = Some(keyid.into());
        self
    }

    fn into_args(self) -> Result<Args, ValueError> {
        let mut keys = Dict::new();
        keys.insert("ppt_scheme".into(), Value::Str(self.scheme));
        for (k, v) in [
            ("ppt_serializer", self.serializer),
            ("ppt_cipher", self.cipher),
            ("ppt_keyid", self.keyid),
        ] {
            if let Some(v) = v {
                keys.insert(k.into(), Value::Str(v));
            }
        }
        let passthru = Passthru::from_dict("PPT", &keys).map_err(|e| ValueError(e.to_string()))?;
        Ok(Args {
            args: vec![Value::Bytes(self.bytes)],
            kwargs: Dict::new(),
            passthru,
        })
    }

    fn from_args(a: Args) -> Result<Self, ValueError> {
        let text = |k: &str| a.passthru.get(k).and_then(Value::as_str).map(str::to_owned);
        let scheme = text("ppt_scheme")
            .or_else(|| text("enc_algo"))
            .ok_or_else(|| ValueError("not an opaque payload (no ppt_scheme)".into()))?;
        let bytes = match a.args.as_slice() {
            [Value::Bytes(b)] => b.clone(),
            [Value::Str(s)] => s.clone().into_bytes(),
            _ => {
                return Err(ValueError(
                    "an opaque payload is one binary argument".into(),
                ))
            }
        };
        Ok(Self {
            scheme,
            serializer: text("ppt_serializer").or_else(|| text("enc_serializer")),
            cipher: text("ppt_cipher"),
            keyid: text("ppt_keyid").or_else(|| text("enc_key")),
            bytes,
        })
    }
}

impl IntoArgs for Opaque {
    fn into_args(self) -> Result<Args, ValueError> {
        Opaque::into_args(self)
    }
}

impl IntoResult for Opaque {
    fn into_result(self) -> Result<Args, ValueError> {
        Opaque::into_args(self)
    }
}

impl FromArgs for Opaque {
    fn from_args(args: Args) -> Result<Self, ValueError> {
        Opaque::from_args(args)
    }
}

impl FromResult for Opaque {
    fn from_result(args: Args) -> Result<Self, ValueError> {
        Opaque::from_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_args() {
        let o = Opaque::new("x_test", b"\x00\x01secret".to_vec()).serializer("cbor");
        let args = IntoArgs::into_args(o.clone()).unwrap();
        assert!(args.passthru.is_set());
        assert_eq!(<Opaque as FromArgs>::from_args(args).unwrap(), o);
        let plain = Args {
            args: vec![Value::Bytes(vec![1])],
            ..Args::default()
        };
        assert!(<Opaque as FromArgs>::from_args(plain).is_err());
    }
}
