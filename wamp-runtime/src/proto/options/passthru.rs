//! The keys of payload passthru mode, kept as they came and copied into what the router
//! sends on.

use super::{wrong, OptionError};
use crate::proto::value::{Dict, Value};

/// The keys of payload passthru mode, as the spec names them and as Autobahn and
/// Crossbar.io name them (`payload_transparency`, end-to-end encryption).
pub const PASSTHRU_KEYS: [&str; 7] = [
    "ppt_scheme",
    "ppt_serializer",
    "ppt_cipher",
    "ppt_keyid",
    "enc_algo",
    "enc_serializer",
    "enc_key",
];

/// The payload passthru keys of a message: what a router copies, untouched, from a CALL,
/// PUBLISH, YIELD or ERROR into the INVOCATION, EVENT, RESULT or ERROR it sends on. When
/// set, the payload is opaque: a router never looks inside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passthru {
    /// Boxed: almost every message has none, and arguments carry this.
    keys: Option<Box<Dict>>,
}

impl Passthru {
    /// The passthru keys present in `dict`.
    pub fn from_dict(message: &'static str, dict: &Dict) -> Result<Self, OptionError> {
        if dict.is_empty() {
            return Ok(Self::default());
        }
        let mut keys = Dict::new();
        for key in PASSTHRU_KEYS {
            let Some(v) = dict.get(key) else { continue };
            let Some(s) = v.as_str() else {
                return Err(wrong(message, key, "a string", v));
            };
            // The router does not look into a ppt scheme (any name will do); Autobahn
            // refuses an `enc_algo` outside its set, so one is not passed on to it.
            let bad = match key {
                "ppt_scheme" => s.is_empty(),
                "enc_algo" => !is_scheme(s),
                _ => false,
            };
            if bad {
                let problem = format!(
                    "unknown scheme {s:?} (use wamp, mqtt, cryptobox, xbr, or an x_ scheme of your own)"
                );
                return Err(OptionError {
                    message,
                    key,
                    problem,
                });
            }
            keys.insert(key.to_owned(), v.clone());
        }
        let keys = (!keys.is_empty()).then(|| Box::new(keys));
        Ok(Self { keys })
    }

    /// The value of passthru key `key`, as it came.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.as_deref()?.get(key)
    }

    /// Whether the message uses payload passthru mode.
    pub fn is_set(&self) -> bool {
        self.get("ppt_scheme").is_some() || self.get("enc_algo").is_some()
    }

    /// Copies the keys into the details of the message the router sends on.
    pub fn apply(&self, details: &mut Dict) {
        for (k, v) in self.keys.iter().flat_map(|keys| keys.iter()) {
            details.insert(k.clone(), v.clone());
        }
    }
}

/// The `enc_algo` values Autobahn takes: its own, the spec's, and `x_` ones an
/// application defines.
fn is_scheme(s: &str) -> bool {
    matches!(s, "wamp" | "mqtt" | "cryptobox" | "xbr") || s.starts_with("x_")
}
