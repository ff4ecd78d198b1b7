//! Typed views of the options of each request, built once from its `Options|dict`.
//!
//! The specification tells peers to ignore option keys they do not know (peers add their
//! own, such as `x_` extensions), so only known keys are read. A known key with a value of
//! the wrong type or outside its set (`invoke: "jump_consistent_hash"`, a `timeout` that
//! is no integer) is a bad request, not a broken session: building the view fails with an
//! [`OptionError`] naming the option, which a router answers with an ERROR
//! `wamp.error.invalid_argument` for that one request. A router reads these views for
//! decoded and in-process messages alike, so both get the same checks.
//!
//! Decoding checks only HELLO's details (a bad HELLO cannot be answered with ERROR) and
//! that an opaque payload says how it is encoded.

mod check;
mod passthru;
mod views;

pub use check::check;
pub(crate) use check::validate;
pub use passthru::{Passthru, PASSTHRU_KEYS};
pub use views::{
    CallOptions, CancelOptions, ErrorDetails, PublishOptions, RegisterOptions, SubscribeOptions,
    YieldOptions,
};

use super::id::{is_valid_id, Id};
use super::uri::MatchPolicy;
use super::value::{Dict, Value};

/// A known option with a value it cannot have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}.{key}: {problem}")]
pub struct OptionError {
    /// Where the option came: `"CALL.Options"`, `"EVENT.Details"`.
    pub message: &'static str,
    /// The option's key.
    pub key: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// How a shared registration picks the callee of each call (`REGISTER.Options.invoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokePolicy {
    /// One callee only: a second registration is refused.
    #[default]
    Single,
    /// Each callee in turn.
    RoundRobin,
    /// A callee drawn at random.
    Random,
    /// The callee that registered first.
    First,
    /// The callee that registered last.
    Last,
}

impl InvokePolicy {
    /// Every policy, in the order the specification lists them.
    pub const ALL: [InvokePolicy; 5] = [
        Self::Single,
        Self::RoundRobin,
        Self::Random,
        Self::First,
        Self::Last,
    ];

    /// Parses the `invoke` option value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The option value naming this policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::RoundRobin => "roundrobin",
            Self::Random => "random",
            Self::First => "first",
            Self::Last => "last",
        }
    }
}

/// How a caller's CANCEL ends its call (`CANCEL.Options.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CancelMode {
    /// The caller gets its error at once; the callee is not told.
    Skip,
    /// The callee gets INTERRUPT; the caller gets its error once the callee answers.
    #[default]
    Kill,
    /// The caller gets its error at once, and the callee INTERRUPT.
    KillNoWait,
}

impl CancelMode {
    /// Parses the `mode` option value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "skip" => Some(Self::Skip),
            "kill" => Some(Self::Kill),
            "killnowait" => Some(Self::KillNoWait),
            _ => None,
        }
    }

    /// The option value naming this mode.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Kill => "kill",
            Self::KillNoWait => "killnowait",
        }
    }
}

pub(super) fn wrong(
    message: &'static str,
    key: &'static str,
    expected: &str,
    found: &Value,
) -> OptionError {
    OptionError {
        message,
        key,
        problem: format!("must be {expected}, not {}", found.kind()),
    }
}

/// Reads the known keys of one options dict, with errors naming the key.
pub(super) struct Reader<'a> {
    pub(super) message: &'static str,
    pub(super) dict: &'a Dict,
}

impl<'a> Reader<'a> {
    pub(super) fn flag(&self, key: &'static str) -> Result<Option<bool>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong(self.message, key, "a boolean", v)),
        }
    }

    pub(super) fn int(&self, key: &'static str) -> Result<Option<u64>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong(self.message, key, "a non-negative integer", v)),
        }
    }

    pub(super) fn id(&self, key: &'static str) -> Result<Option<Id>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|id| is_valid_id(*id))
                .map(Some)
                .ok_or_else(|| wrong(self.message, key, "an ID", v)),
        }
    }

    pub(super) fn str(&self, key: &'static str) -> Result<Option<&'a str>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(v) => Err(wrong(self.message, key, "a string", v)),
        }
    }

    pub(super) fn ids(&self, key: &'static str) -> Result<Option<Vec<Id>>, OptionError> {
        let Some(v) = self.dict.get(key).filter(|v| !matches!(v, Value::Null)) else {
            return Ok(None);
        };
        let ids = v.as_list().and_then(|l| {
            l.iter()
                .map(|x| x.as_u64().filter(|id| is_valid_id(*id)))
                .collect::<Option<Vec<Id>>>()
        });
        ids.map(Some)
            .ok_or_else(|| wrong(self.message, key, "a list of session IDs", v))
    }

    pub(super) fn strings(&self, key: &'static str) -> Result<Option<Vec<String>>, OptionError> {
        let Some(v) = self.dict.get(key).filter(|v| !matches!(v, Value::Null)) else {
            return Ok(None);
        };
        let list = v.as_list().and_then(|l| {
            l.iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        });
        list.map(Some)
            .ok_or_else(|| wrong(self.message, key, "a list of strings", v))
    }

    pub(super) fn policy(&self) -> Result<MatchPolicy, OptionError> {
        match self.str("match")? {
            None => Ok(MatchPolicy::Exact),
            Some(m) => MatchPolicy::parse(m).ok_or_else(|| OptionError {
                message: self.message,
                key: "match",
                problem: format!("unknown match policy {m:?} (use exact, prefix or wildcard)"),
            }),
        }
    }

    pub(super) fn passthru(&self) -> Result<Passthru, OptionError> {
        Passthru::from_dict(self.message, self.dict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(pairs: &[(&str, Value)]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let o = dict(&[("x_custom", Value::Str("anything".into()))]);
        assert_eq!(RegisterOptions::parse(&o), Ok(RegisterOptions::default()));
        assert_eq!(CallOptions::parse(&o), Ok(CallOptions::default()));
    }

    #[test]
    fn bad_values_name_the_option() {
        let o = dict(&[("invoke", Value::Str("jump_consistent_hash".into()))]);
        let e = RegisterOptions::parse(&o).unwrap_err();
        assert_eq!((e.message, e.key), ("REGISTER.Options", "invoke"));
        let o = dict(&[("timeout", Value::Float(1.5))]);
        assert_eq!(CallOptions::parse(&o).unwrap_err().key, "timeout");
        let o = dict(&[("mode", Value::Str("abandon".into()))]);
        assert_eq!(CancelOptions::parse(&o).unwrap_err().key, "mode");
        let o = dict(&[("match", Value::Str("regex".into()))]);
        assert_eq!(SubscribeOptions::parse(&o).unwrap_err().key, "match");
        let o = dict(&[("exclude", Value::List(vec![Value::Str("me".into())]))]);
        assert_eq!(PublishOptions::parse(&o).unwrap_err().key, "exclude");
    }

    #[test]
    fn passthru_keys_are_kept() {
        let o = dict(&[
            ("ppt_scheme", Value::Str("x_custom".into())),
            ("ppt_serializer", Value::Str("cbor".into())),
            ("other", Value::Bool(true)),
        ]);
        let c = CallOptions::parse(&o).unwrap();
        assert!(c.passthru.is_set());
        let mut details = Dict::new();
        c.passthru.apply(&mut details);
        assert_eq!(details.len(), 2);
        let o = dict(&[("enc_algo", Value::Str("rot13".into()))]);
        assert_eq!(CallOptions::parse(&o).unwrap_err().key, "enc_algo");
        let o = dict(&[("ppt_scheme", Value::Str(String::new()))]);
        assert_eq!(CallOptions::parse(&o).unwrap_err().key, "ppt_scheme");
        let o = dict(&[("ppt_scheme", Value::Str("rot13".into()))]);
        assert!(CallOptions::parse(&o).unwrap().passthru.is_set());
    }
}
