//! What decoding checks (HELLO's details, opaque payloads), and the check of every known
//! option of any message against the spec's types and values.

use super::{
    wrong, CallOptions, CancelOptions, OptionError, PublishOptions, Reader, RegisterOptions,
    SubscribeOptions, YieldOptions,
};
use crate::proto::message::Message;
use crate::proto::value::{Dict, Value};
use crate::serializer::DecodeError;

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
    payload: &crate::proto::Payload,
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
