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

use super::id::{is_valid_id, Id};
use super::message::Message;
use super::uri::MatchPolicy;
use super::value::{Dict, Value};
use crate::serializer::DecodeError;

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

    /// The keys, as they came.
    pub fn keys(&self) -> &Dict {
        static NONE: std::sync::OnceLock<Dict> = std::sync::OnceLock::new();
        self.keys
            .as_deref()
            .unwrap_or_else(|| NONE.get_or_init(Dict::new))
    }

    /// Whether the message uses payload passthru mode.
    pub fn is_set(&self) -> bool {
        let keys = self.keys();
        keys.contains_key("ppt_scheme") || keys.contains_key("enc_algo")
    }

    /// Copies the keys into the details of the message the router sends on.
    pub fn apply(&self, details: &mut Dict) {
        for (k, v) in self.keys() {
            details.insert(k.clone(), v.clone());
        }
    }
}

/// The `enc_algo` values Autobahn takes: its own, the spec's, and `x_` ones an
/// application defines.
fn is_scheme(s: &str) -> bool {
    matches!(s, "wamp" | "mqtt" | "cryptobox" | "xbr") || s.starts_with("x_")
}

fn wrong(message: &'static str, key: &'static str, expected: &str, found: &Value) -> OptionError {
    OptionError {
        message,
        key,
        problem: format!("must be {expected}, not {}", found.kind()),
    }
}

/// Reads the known keys of one options dict, with errors naming the key.
struct Reader<'a> {
    message: &'static str,
    dict: &'a Dict,
}

impl<'a> Reader<'a> {
    fn flag(&self, key: &'static str) -> Result<Option<bool>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong(self.message, key, "a boolean", v)),
        }
    }

    fn int(&self, key: &'static str) -> Result<Option<u64>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong(self.message, key, "a non-negative integer", v)),
        }
    }

    fn id(&self, key: &'static str) -> Result<Option<Id>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|id| is_valid_id(*id))
                .map(Some)
                .ok_or_else(|| wrong(self.message, key, "an ID", v)),
        }
    }

    fn str(&self, key: &'static str) -> Result<Option<&'a str>, OptionError> {
        match self.dict.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(v) => Err(wrong(self.message, key, "a string", v)),
        }
    }

    fn ids(&self, key: &'static str) -> Result<Option<Vec<Id>>, OptionError> {
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

    fn strings(&self, key: &'static str) -> Result<Option<Vec<String>>, OptionError> {
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

    fn policy(&self) -> Result<MatchPolicy, OptionError> {
        match self.str("match")? {
            None => Ok(MatchPolicy::Exact),
            Some(m) => MatchPolicy::parse(m).ok_or_else(|| OptionError {
                message: self.message,
                key: "match",
                problem: format!("unknown match policy {m:?} (use exact, prefix or wildcard)"),
            }),
        }
    }

    fn passthru(&self) -> Result<Passthru, OptionError> {
        Passthru::from_dict(self.message, self.dict)
    }
}

/// `SUBSCRIBE.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscribeOptions {
    /// How the topic matches publications.
    pub policy: MatchPolicy,
    /// Whether the subscriber asks for the retained events (`get_retained`).
    pub get_retained: bool,
}

impl SubscribeOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "SUBSCRIBE.Options",
            dict: options,
        };
        Ok(Self {
            policy: r.policy()?,
            get_retained: r.flag("get_retained")?.unwrap_or(false),
        })
    }
}

/// `PUBLISH.Options`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishOptions {
    /// Whether the publisher wants PUBLISHED (and errors).
    pub acknowledge: bool,
    /// Whether the publisher, if subscribed, does not receive its own event (default).
    pub exclude_me: bool,
    /// Subscribers that must not receive the event, by session, authid and authrole.
    pub exclude: Option<Vec<Id>>,
    #[allow(missing_docs)]
    pub exclude_authid: Option<Vec<String>>,
    #[allow(missing_docs)]
    pub exclude_authrole: Option<Vec<String>>,
    /// When given, only these subscribers may receive the event.
    pub eligible: Option<Vec<Id>>,
    #[allow(missing_docs)]
    pub eligible_authid: Option<Vec<String>>,
    #[allow(missing_docs)]
    pub eligible_authrole: Option<Vec<String>>,
    /// Whether the broker keeps the event for later subscribers.
    pub retain: bool,
    /// Whether the publisher asks to be disclosed.
    pub disclose_me: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            acknowledge: false,
            exclude_me: true,
            exclude: None,
            exclude_authid: None,
            exclude_authrole: None,
            eligible: None,
            eligible_authid: None,
            eligible_authrole: None,
            retain: false,
            disclose_me: false,
            passthru: Passthru::default(),
        }
    }
}

impl PublishOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "PUBLISH.Options",
            dict: options,
        };
        Ok(Self {
            acknowledge: r.flag("acknowledge")?.unwrap_or(false),
            exclude_me: r.flag("exclude_me")?.unwrap_or(true),
            exclude: r.ids("exclude")?,
            exclude_authid: r.strings("exclude_authid")?,
            exclude_authrole: r.strings("exclude_authrole")?,
            eligible: r.ids("eligible")?,
            eligible_authid: r.strings("eligible_authid")?,
            eligible_authrole: r.strings("eligible_authrole")?,
            retain: r.flag("retain")?.unwrap_or(false),
            disclose_me: r.flag("disclose_me")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }

    /// Whether the publisher asked for PUBLISHED, read on its own: a PUBLISH whose other
    /// options are bad is answered with ERROR only when this is set.
    pub fn acknowledged(options: &Dict) -> bool {
        options.get("acknowledge").and_then(Value::as_bool) == Some(true)
    }

    /// Whether the black- and white-lists let a subscriber receive the event.
    pub fn admits(&self, session: Id, authid: &str, authrole: &str) -> bool {
        let has =
            |l: &Option<Vec<String>>, s: &str| l.as_ref().is_some_and(|l| l.iter().any(|x| x == s));
        let has_id = |l: &Option<Vec<Id>>| l.as_ref().is_some_and(|l| l.contains(&session));
        !has_id(&self.exclude)
            && !has(&self.exclude_authid, authid)
            && !has(&self.exclude_authrole, authrole)
            && (self.eligible.is_none() || has_id(&self.eligible))
            && (self.eligible_authid.is_none() || has(&self.eligible_authid, authid))
            && (self.eligible_authrole.is_none() || has(&self.eligible_authrole, authrole))
    }

    /// Whether the publication names its receivers (`exclude…` or `eligible…`).
    pub fn is_filtered(&self) -> bool {
        self.exclude.is_some()
            || self.exclude_authid.is_some()
            || self.exclude_authrole.is_some()
            || self.eligible.is_some()
            || self.eligible_authid.is_some()
            || self.eligible_authrole.is_some()
    }
}

/// `REGISTER.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterOptions {
    /// How the procedure URI matches calls.
    pub policy: MatchPolicy,
    /// How a shared registration picks its callee.
    pub invoke: InvokePolicy,
    /// Whether invocations disclose the caller.
    pub disclose_caller: bool,
    /// Whether to take the procedure from the sessions holding it (Crossbar.io's
    /// `force_reregister`).
    pub force_reregister: bool,
    /// Whether the caller's `timeout` is passed on in INVOCATION (`forward_timeout`).
    pub forward_timeout: bool,
    /// How many invocations may run at once (Crossbar.io's `concurrency`).
    pub concurrency: Option<u64>,
}

impl RegisterOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "REGISTER.Options",
            dict: options,
        };
        let invoke = match r.str("invoke")? {
            None => InvokePolicy::Single,
            Some(i) => InvokePolicy::parse(i).ok_or_else(|| OptionError {
                message: "REGISTER.Options",
                key: "invoke",
                problem: format!(
                    "unknown invocation policy {i:?} (use single, roundrobin, random, first or last)"
                ),
            })?,
        };
        let concurrency = r.int("concurrency")?;
        if concurrency == Some(0) {
            return Err(OptionError {
                message: "REGISTER.Options",
                key: "concurrency",
                problem: "must be at least 1".into(),
            });
        }
        Ok(Self {
            policy: r.policy()?,
            invoke,
            disclose_caller: r.flag("disclose_caller")?.unwrap_or(false),
            force_reregister: r.flag("force_reregister")?.unwrap_or(false),
            forward_timeout: r.flag("forward_timeout")?.unwrap_or(false),
            concurrency,
        })
    }
}

/// `CALL.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOptions {
    /// The call's timeout in milliseconds (0: none).
    pub timeout: u64,
    /// Whether the caller takes progressive results.
    pub receive_progress: bool,
    /// Whether more parts of this call's arguments follow (progressive call invocations).
    pub progress: bool,
    /// Whether the caller asks to be disclosed.
    pub disclose_me: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl CallOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "CALL.Options",
            dict: options,
        };
        Ok(Self {
            timeout: r.int("timeout")?.unwrap_or(0),
            receive_progress: r.flag("receive_progress")?.unwrap_or(false),
            progress: r.flag("progress")?.unwrap_or(false),
            disclose_me: r.flag("disclose_me")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }
}

/// `YIELD.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YieldOptions {
    /// Whether this is a progressive result (more follow).
    pub progress: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl YieldOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "YIELD.Options",
            dict: options,
        };
        Ok(Self {
            progress: r.flag("progress")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }
}

/// `ERROR.Details` of a callee's error for an invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorDetails {
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl ErrorDetails {
    /// Reads the known keys of `details`.
    pub fn parse(details: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "ERROR.Details",
            dict: details,
        };
        Ok(Self {
            passthru: r.passthru()?,
        })
    }
}

/// `CANCEL.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CancelOptions {
    /// How the call ends.
    pub mode: CancelMode,
}

impl CancelOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "CANCEL.Options",
            dict: options,
        };
        let mode = match r.str("mode")? {
            None => CancelMode::Kill,
            Some(m) => CancelMode::parse(m).ok_or_else(|| OptionError {
                message: "CANCEL.Options",
                key: "mode",
                problem: format!("unknown cancel mode {m:?} (use skip, kill or killnowait)"),
            })?,
        };
        Ok(Self { mode })
    }
}

/// HELLO.Details keys whose type is checked at decode.
const HELLO: [(&str, &str); 6] = [
    ("roles", "dict"),
    ("authmethods", "list of strings"),
    ("authid", "string"),
    ("authrole", "string"),
    ("authextra", "dict"),
    ("agent", "string"),
];

fn hello_ok(expected: &str, v: &Value) -> bool {
    match expected {
        "dict" => matches!(v, Value::Dict(_)),
        "string" => matches!(v, Value::Str(_)),
        _ => v
            .as_list()
            .is_some_and(|l| l.iter().all(|x| x.as_str().is_some())),
    }
}

/// A transparent payload is allowed only when the options or details say how it is encoded.
fn check_transparent(
    message: &'static str,
    dict: &Dict,
    payload: &super::Payload,
) -> Result<(), DecodeError> {
    if payload.as_transparent().is_some()
        && !dict.contains_key("enc_algo")
        && !dict.contains_key("ppt_scheme")
    {
        return Err(DecodeError::Invalid(format!(
            "{message}.Arguments must be a list (an opaque payload needs enc_algo or ppt_scheme)"
        )));
    }
    Ok(())
}

/// The checks decoding makes: HELLO's details, and that an opaque payload says how it is
/// encoded. Request options are read (and refused one by one) through the views above;
/// [`check`] checks every known option of any message.
pub(crate) fn validate(msg: &Message) -> Result<(), DecodeError> {
    let name = msg.name();
    match msg {
        Message::Hello { details, .. } => {
            for (key, expected) in HELLO {
                if details.get(key).is_some_and(|v| !hello_ok(expected, v)) {
                    return Err(DecodeError::InvalidOption {
                        message: name,
                        what: "Details",
                        key: key.to_owned(),
                    });
                }
            }
            Ok(())
        }
        Message::Publish {
            options: d,
            payload,
            ..
        }
        | Message::Event {
            details: d,
            payload,
            ..
        }
        | Message::Call {
            options: d,
            payload,
            ..
        }
        | Message::Invocation {
            details: d,
            payload,
            ..
        }
        | Message::Yield {
            options: d,
            payload,
            ..
        }
        | Message::Result {
            details: d,
            payload,
            ..
        }
        | Message::Error {
            details: d,
            payload,
            ..
        } => check_transparent(name, d, payload),
        _ => Ok(()),
    }
}

/// The keys every message with options or details may carry, besides its own.
fn common(r: &Reader<'_>) -> Result<(), OptionError> {
    if let Some(v) = r.dict.get("forward_for") {
        if !v
            .as_list()
            .is_some_and(|l| l.iter().all(|x| x.as_dict().is_some()))
        {
            return Err(wrong(r.message, "forward_for", "a list of dicts", v));
        }
    }
    r.str("transaction_hash")?;
    r.flag("x_acknowledged_delivery")?;
    r.passthru()?;
    Ok(())
}

/// Checks every known option or detail of `msg` against the type and the values the
/// spec gives it (the spec's test vectors call a message that fails this invalid). A
/// router does not end a session for it: it reads requests through the views above and
/// answers a bad value with ERROR; a client reads what it receives leniently.
pub fn check(msg: &Message) -> Result<(), OptionError> {
    let (message, dict) = match msg {
        Message::Publish { options, .. } => {
            PublishOptions::parse(options)?;
            ("PUBLISH.Options", options)
        }
        Message::Subscribe { options, .. } => {
            SubscribeOptions::parse(options)?;
            ("SUBSCRIBE.Options", options)
        }
        Message::Call { options, .. } => {
            CallOptions::parse(options)?;
            ("CALL.Options", options)
        }
        Message::Register { options, .. } => {
            RegisterOptions::parse(options)?;
            ("REGISTER.Options", options)
        }
        Message::Yield { options, .. } => {
            YieldOptions::parse(options)?;
            ("YIELD.Options", options)
        }
        Message::Cancel { options, .. } => {
            CancelOptions::parse(options)?;
            ("CANCEL.Options", options)
        }
        Message::Interrupt { options, .. } => {
            CancelOptions::parse(options)?;
            ("INTERRUPT.Options", options)
        }
        Message::Event { details, .. } => {
            let r = Reader {
                message: "EVENT.Details",
                dict: details,
            };
            r.id("publisher")?;
            r.str("publisher_authid")?;
            r.str("publisher_authrole")?;
            r.str("topic")?;
            r.flag("retained")?;
            ("EVENT.Details", details)
        }
        Message::Invocation { details, .. } => {
            let r = Reader {
                message: "INVOCATION.Details",
                dict: details,
            };
            r.id("caller")?;
            r.str("caller_authid")?;
            r.str("caller_authrole")?;
            r.str("procedure")?;
            r.flag("receive_progress")?;
            r.flag("progress")?;
            r.int("timeout")?;
            ("INVOCATION.Details", details)
        }
        Message::Result { details, .. } => {
            let r = Reader {
                message: "RESULT.Details",
                dict: details,
            };
            r.flag("progress")?;
            ("RESULT.Details", details)
        }
        Message::Error { details, .. } => ("ERROR.Details", details),
        _ => return Ok(()),
    };
    common(&Reader { message, dict })
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
