//! Type checks of the options and details that the specification defines.
//!
//! Unknown keys pass (peers add their own, like `x_` extensions); a known key with a value
//! of the wrong type makes the whole message invalid, and the error names the key.

use super::id::is_valid_id;
use super::message::Message;
use super::value::{Dict, Value};
use crate::serializer::DecodeError;

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Id,
    Int,
    Str,
    StrList,
    IdList,
    DictList,
    Dict,
    /// A string from a fixed set.
    OneOf(&'static [&'static str]),
    /// A payload-transparency scheme: a known name or an `x_` extension.
    Scheme,
}

const FORWARD_FOR: (&str, Kind) = ("forward_for", Kind::DictList);
const PPT: [(&str, Kind); 8] = [
    ("enc_algo", Kind::Scheme),
    ("enc_serializer", Kind::Str),
    ("enc_key", Kind::Str),
    ("ppt_scheme", Kind::Scheme),
    ("ppt_serializer", Kind::Str),
    ("ppt_cipher", Kind::Str),
    ("ppt_keyid", Kind::Str),
    ("transaction_hash", Kind::Str),
];
const MATCH: Kind = Kind::OneOf(&["exact", "prefix", "wildcard"]);
const INVOKE: Kind = Kind::OneOf(&["single", "roundrobin", "random", "first", "last"]);
const CANCEL_MODE: Kind = Kind::OneOf(&["skip", "kill", "killnowait"]);

const PUBLISH: &[(&str, Kind)] = &[
    ("acknowledge", Kind::Bool),
    ("exclude_me", Kind::Bool),
    ("exclude", Kind::IdList),
    ("exclude_authid", Kind::StrList),
    ("exclude_authrole", Kind::StrList),
    ("eligible", Kind::IdList),
    ("eligible_authid", Kind::StrList),
    ("eligible_authrole", Kind::StrList),
    ("retain", Kind::Bool),
    ("disclose_me", Kind::Bool),
    ("x_acknowledged_delivery", Kind::Bool),
    FORWARD_FOR,
];
const SUBSCRIBE: &[(&str, Kind)] = &[("match", MATCH), ("get_retained", Kind::Bool), FORWARD_FOR];
const EVENT: &[(&str, Kind)] = &[
    ("publisher", Kind::Id),
    ("publisher_authid", Kind::Str),
    ("publisher_authrole", Kind::Str),
    ("topic", Kind::Str),
    ("retained", Kind::Bool),
    ("x_acknowledged_delivery", Kind::Bool),
    FORWARD_FOR,
];
const CALL: &[(&str, Kind)] = &[
    ("timeout", Kind::Int),
    ("receive_progress", Kind::Bool),
    ("progress", Kind::Bool),
    ("disclose_me", Kind::Bool),
    FORWARD_FOR,
];
const REGISTER: &[(&str, Kind)] = &[
    ("match", MATCH),
    ("invoke", INVOKE),
    ("disclose_caller", Kind::Bool),
    ("concurrency", Kind::Int),
    ("force_reregister", Kind::Bool),
    FORWARD_FOR,
];
const INVOCATION: &[(&str, Kind)] = &[
    ("caller", Kind::Id),
    ("caller_authid", Kind::Str),
    ("caller_authrole", Kind::Str),
    ("procedure", Kind::Str),
    ("receive_progress", Kind::Bool),
    ("progress", Kind::Bool),
    ("timeout", Kind::Int),
    FORWARD_FOR,
];
const PROGRESS: &[(&str, Kind)] = &[("progress", Kind::Bool), FORWARD_FOR];
const CANCEL: &[(&str, Kind)] = &[("mode", CANCEL_MODE), ("reason", Kind::Str), FORWARD_FOR];
const HELLO: &[(&str, Kind)] = &[
    ("roles", Kind::Dict),
    ("authmethods", Kind::StrList),
    ("authid", Kind::Str),
    ("authrole", Kind::Str),
    ("authextra", Kind::Dict),
    ("agent", Kind::Str),
];

fn kind_ok(kind: Kind, v: &Value) -> bool {
    let id = |v: &Value| v.as_u64().is_some_and(is_valid_id);
    match kind {
        Kind::Bool => matches!(v, Value::Bool(_)),
        Kind::Id => id(v),
        Kind::Int => v.as_u64().is_some(),
        Kind::Str => matches!(v, Value::Str(_)),
        Kind::Dict => matches!(v, Value::Dict(_)),
        Kind::StrList => v
            .as_list()
            .is_some_and(|l| l.iter().all(|x| x.as_str().is_some())),
        Kind::IdList => v.as_list().is_some_and(|l| l.iter().all(id)),
        Kind::DictList => v
            .as_list()
            .is_some_and(|l| l.iter().all(|x| x.as_dict().is_some())),
        Kind::OneOf(set) => v.as_str().is_some_and(|s| set.contains(&s)),
        Kind::Scheme => v.as_str().is_some_and(|s| {
            matches!(s, "cryptobox" | "mqtt" | "xbr" | "wamp") || s.starts_with("x_")
        }),
    }
}

fn check(
    message: &'static str,
    what: &'static str,
    dict: &Dict,
    table: &[(&str, Kind)],
    ppt: bool,
) -> Result<(), DecodeError> {
    let ppt_table: &[(&str, Kind)] = if ppt { &PPT } else { &[] };
    for (key, kind) in table.iter().chain(ppt_table) {
        if let Some(v) = dict.get(*key) {
            if !kind_ok(*kind, v) {
                return Err(DecodeError::InvalidOption {
                    message,
                    what,
                    key: (*key).to_string(),
                });
            }
        }
    }
    Ok(())
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

/// Checks the types of the known options or details of `msg`.
pub(crate) fn validate(msg: &Message) -> Result<(), DecodeError> {
    let name = msg.name();
    match msg {
        Message::Hello { details, .. } => check(name, "Details", details, HELLO, false),
        Message::Publish {
            options, payload, ..
        } => {
            check(name, "Options", options, PUBLISH, true)?;
            check_transparent(name, options, payload)
        }
        Message::Subscribe { options, .. } => check(name, "Options", options, SUBSCRIBE, false),
        Message::Event {
            details, payload, ..
        } => {
            check(name, "Details", details, EVENT, true)?;
            check_transparent(name, details, payload)
        }
        Message::Call {
            options, payload, ..
        } => {
            check(name, "Options", options, CALL, true)?;
            check_transparent(name, options, payload)
        }
        Message::Register { options, .. } => check(name, "Options", options, REGISTER, false),
        Message::Invocation {
            details, payload, ..
        } => {
            check(name, "Details", details, INVOCATION, true)?;
            check_transparent(name, details, payload)
        }
        Message::Yield {
            options, payload, ..
        } => {
            check(name, "Options", options, PROGRESS, true)?;
            check_transparent(name, options, payload)
        }
        Message::Result {
            details, payload, ..
        } => {
            check(name, "Details", details, PROGRESS, true)?;
            check_transparent(name, details, payload)
        }
        Message::Error {
            details, payload, ..
        } => {
            check(name, "Details", details, &[FORWARD_FOR], true)?;
            check_transparent(name, details, payload)
        }
        Message::Cancel { options, .. } | Message::Interrupt { options, .. } => {
            check(name, "Options", options, CANCEL, false)
        }
        _ => Ok(()),
    }
}
