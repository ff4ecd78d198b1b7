//! Every WAMP message as one enum, with the specification's codes and field order.
//!
//! Codecs turn a frame into the list of its envelope values plus a [`Payload`]; this module
//! checks that list's shape (arity, field types, ID ranges, the types of known options) and
//! builds the message. Encoding goes the other way through `Message::fields`.
//!
//! URIs that no reply could refuse (the reason of ABORT and GOODBYE, the error of ERROR) are
//! checked here, with the loose rule. URIs of requests (realm, topic, procedure) are only
//! checked to be strings: a router refuses a bad one with ERROR `wamp.error.invalid_uri`,
//! which needs the message decoded first.

use super::codes::code;
use super::id::{is_valid_id, Id};
use super::options;
use super::payload::Payload;
use super::uri::{is_valid_uri, UriRule};
use super::value::{Dict, Value};
use crate::serializer::DecodeError;

/// One WAMP message.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Message {
    /// `[HELLO, Realm|uri, Details|dict]`
    Hello { realm: String, details: Dict },
    /// `[WELCOME, Session|id, Details|dict]`
    Welcome { session: Id, details: Dict },
    /// `[ABORT, Details|dict, Reason|uri]`
    Abort { details: Dict, reason: String },
    /// `[CHALLENGE, AuthMethod|string, Extra|dict]`
    Challenge { auth_method: String, extra: Dict },
    /// `[AUTHENTICATE, Signature|string, Extra|dict]`
    Authenticate { signature: String, extra: Dict },
    /// `[GOODBYE, Details|dict, Reason|uri]`
    Goodbye { details: Dict, reason: String },
    /// `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]`
    Error {
        request_type: u64,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    },
    /// `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]`
    Publish {
        request: Id,
        options: Dict,
        topic: String,
        payload: Payload,
    },
    /// `[PUBLISHED, PUBLISH.Request|id, Publication|id]`
    Published { request: Id, publication: Id },
    /// `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]`
    Subscribe {
        request: Id,
        options: Dict,
        topic: String,
    },
    /// `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]`
    Subscribed { request: Id, subscription: Id },
    /// `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]`
    Unsubscribe { request: Id, subscription: Id },
    /// `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]` or with `Details|dict`
    Unsubscribed { request: Id, details: Option<Dict> },
    /// `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
    Event {
        subscription: Id,
        publication: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[EVENT_RECEIVED, EVENT.Publication|id]` (acknowledged event delivery)
    EventReceived { publication: Id },
    /// `[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]`
    Call {
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    },
    /// `[CANCEL, CALL.Request|id, Options|dict]`
    Cancel { request: Id, options: Dict },
    /// `[RESULT, CALL.Request|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
    Result {
        request: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[REGISTER, Request|id, Options|dict, Procedure|uri]`
    Register {
        request: Id,
        options: Dict,
        procedure: String,
    },
    /// `[REGISTERED, REGISTER.Request|id, Registration|id]`
    Registered { request: Id, registration: Id },
    /// `[UNREGISTER, Request|id, REGISTERED.Registration|id]`
    Unregister { request: Id, registration: Id },
    /// `[UNREGISTERED, UNREGISTER.Request|id]` or with `Details|dict`
    Unregistered { request: Id, details: Option<Dict> },
    /// `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
    Invocation {
        request: Id,
        registration: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[INTERRUPT, INVOCATION.Request|id, Options|dict]`
    Interrupt { request: Id, options: Dict },
    /// `[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]`
    Yield {
        request: Id,
        options: Dict,
        payload: Payload,
    },
}

/// One envelope field, borrowed from a message, for a codec to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    Int(u64),
    Str(&'a str),
    Dict(&'a Dict),
}

/// Where the payload starts in a message of type `code`, for messages that carry one.
pub(crate) fn payload_index(code: u64) -> Option<usize> {
    match code {
        code::ERROR => Some(5),
        code::PUBLISH | code::EVENT | code::CALL | code::INVOCATION => Some(4),
        code::RESULT | code::YIELD => Some(3),
        _ => None,
    }
}

impl Message {
    /// The message type code.
    pub fn code(&self) -> u64 {
        use Message::*;
        match self {
            Hello { .. } => code::HELLO,
            Welcome { .. } => code::WELCOME,
            Abort { .. } => code::ABORT,
            Challenge { .. } => code::CHALLENGE,
            Authenticate { .. } => code::AUTHENTICATE,
            Goodbye { .. } => code::GOODBYE,
            Error { .. } => code::ERROR,
            Publish { .. } => code::PUBLISH,
            Published { .. } => code::PUBLISHED,
            Subscribe { .. } => code::SUBSCRIBE,
            Subscribed { .. } => code::SUBSCRIBED,
            Unsubscribe { .. } => code::UNSUBSCRIBE,
            Unsubscribed { .. } => code::UNSUBSCRIBED,
            Event { .. } => code::EVENT,
            EventReceived { .. } => code::EVENT_RECEIVED,
            Call { .. } => code::CALL,
            Cancel { .. } => code::CANCEL,
            Result { .. } => code::RESULT,
            Register { .. } => code::REGISTER,
            Registered { .. } => code::REGISTERED,
            Unregister { .. } => code::UNREGISTER,
            Unregistered { .. } => code::UNREGISTERED,
            Invocation { .. } => code::INVOCATION,
            Interrupt { .. } => code::INTERRUPT,
            Yield { .. } => code::YIELD,
        }
    }

    /// The message's name as the specification writes it (`"CALL"`).
    pub fn name(&self) -> &'static str {
        name_of(self.code())
    }

    /// An ABORT with a human-readable `message` in its details.
    pub fn abort(reason: &str, message: impl Into<String>) -> Message {
        let mut details = Dict::new();
        details.insert("message".into(), Value::Str(message.into()));
        Message::Abort {
            details,
            reason: reason.into(),
        }
    }

    /// A GOODBYE with empty details.
    pub fn goodbye(reason: &str) -> Message {
        Message::Goodbye {
            details: Dict::new(),
            reason: reason.into(),
        }
    }

    /// An ERROR answering request `request` of type `request_type`, with a message as its
    /// single positional argument.
    pub fn error(request_type: u64, request: Id, error: &str, message: impl Into<String>) -> Self {
        Message::Error {
            request_type,
            request,
            details: Dict::new(),
            error: error.into(),
            payload: Payload::args(vec![Value::Str(message.into())]),
        }
    }

    /// Checks every known option or detail against the type and values the spec gives it
    /// (see [`options::check`]): decoding leaves this to the reader, so that a router can
    /// answer a bad value with ERROR instead of ending the session.
    pub fn check_options(&self) -> Result<(), options::OptionError> {
        options::check(self)
    }

    /// The application payload, for the kinds of message that carry one.
    pub fn payload(&self) -> Option<&Payload> {
        use Message::*;
        match self {
            Error { payload, .. }
            | Publish { payload, .. }
            | Event { payload, .. }
            | Call { payload, .. }
            | Result { payload, .. }
            | Invocation { payload, .. }
            | Yield { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// The envelope fields (code first) and the payload, if this kind of message has one.
    pub(crate) fn fields(&self) -> (Vec<Field<'_>>, Option<&Payload>) {
        use Field::{Dict as D, Int as I, Str as S};
        use Message::*;
        let c = I(self.code());
        match self {
            Hello { realm, details } => (vec![c, S(realm), D(details)], None),
            Welcome { session, details } => (vec![c, I(*session), D(details)], None),
            Abort { details, reason } | Goodbye { details, reason } => {
                (vec![c, D(details), S(reason)], None)
            }
            Challenge {
                auth_method: s,
                extra,
            }
            | Authenticate {
                signature: s,
                extra,
            } => (vec![c, S(s), D(extra)], None),
            Error {
                request_type,
                request,
                details,
                error,
                payload,
            } => (
                vec![c, I(*request_type), I(*request), D(details), S(error)],
                Some(payload),
            ),
            Publish {
                request,
                options: d,
                topic: u,
                payload,
            }
            | Call {
                request,
                options: d,
                procedure: u,
                payload,
            } => (vec![c, I(*request), D(d), S(u)], Some(payload)),
            Published {
                request: a,
                publication: b,
            }
            | Subscribed {
                request: a,
                subscription: b,
            }
            | Unsubscribe {
                request: a,
                subscription: b,
            }
            | Registered {
                request: a,
                registration: b,
            }
            | Unregister {
                request: a,
                registration: b,
            } => (vec![c, I(*a), I(*b)], None),
            Subscribe {
                request,
                options,
                topic: u,
            }
            | Register {
                request,
                options,
                procedure: u,
            } => (vec![c, I(*request), D(options), S(u)], None),
            Unsubscribed { request, details } | Unregistered { request, details } => {
                let mut f = vec![c, I(*request)];
                if let Some(d) = details {
                    f.push(D(d));
                }
                (f, None)
            }
            Event {
                subscription: a,
                publication: b,
                details,
                payload,
            }
            | Invocation {
                request: a,
                registration: b,
                details,
                payload,
            } => (vec![c, I(*a), I(*b), D(details)], Some(payload)),
            EventReceived { publication } => (vec![c, I(*publication)], None),
            Cancel { request, options } | Interrupt { request, options } => {
                (vec![c, I(*request), D(options)], None)
            }
            Result {
                request,
                details: d,
                payload,
            }
            | Yield {
                request,
                options: d,
                payload,
            } => (vec![c, I(*request), D(d)], Some(payload)),
        }
    }

    /// Builds a message from the envelope values a codec decoded (code first) and the
    /// payload it found, checking the shape the specification gives each message.
    pub(crate) fn from_parts(fields: Vec<Value>, payload: Payload) -> Result<Message, DecodeError> {
        let mut f = Reader::new(fields)?;
        let code = f.code;
        let has_payload = !payload.is_empty();
        let msg = match code {
            code::HELLO => Message::Hello {
                realm: f.string("Realm")?,
                details: f.dict("Details")?,
            },
            code::WELCOME => Message::Welcome {
                session: f.id("Session")?,
                details: f.dict("Details")?,
            },
            code::ABORT => Message::Abort {
                details: f.dict("Details")?,
                reason: f.uri("Reason")?,
            },
            code::CHALLENGE => Message::Challenge {
                auth_method: f.string("AuthMethod")?,
                extra: f.dict("Extra")?,
            },
            code::AUTHENTICATE => Message::Authenticate {
                signature: f.string("Signature")?,
                extra: f.dict("Extra")?,
            },
            code::GOODBYE => Message::Goodbye {
                details: f.dict("Details")?,
                reason: f.uri("Reason")?,
            },
            code::ERROR => Message::Error {
                request_type: f.int("REQUEST.Type")?,
                request: f.id("REQUEST.Request")?,
                details: f.dict("Details")?,
                error: f.uri("Error")?,
                payload,
            },
            code::PUBLISH => Message::Publish {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                topic: f.string("Topic")?,
                payload,
            },
            code::PUBLISHED => Message::Published {
                request: f.id("PUBLISH.Request")?,
                publication: f.id("Publication")?,
            },
            code::SUBSCRIBE => Message::Subscribe {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                topic: f.string("Topic")?,
            },
            code::SUBSCRIBED => Message::Subscribed {
                request: f.id("SUBSCRIBE.Request")?,
                subscription: f.id("Subscription")?,
            },
            code::UNSUBSCRIBE => Message::Unsubscribe {
                request: f.id("Request")?,
                subscription: f.id("SUBSCRIBED.Subscription")?,
            },
            code::UNSUBSCRIBED => {
                let (request, details) = f.revocable("UNSUBSCRIBE.Request", "subscription")?;
                Message::Unsubscribed { request, details }
            }
            code::EVENT => Message::Event {
                subscription: f.id("SUBSCRIBED.Subscription")?,
                publication: f.id("PUBLISHED.Publication")?,
                details: f.dict("Details")?,
                payload,
            },
            code::EVENT_RECEIVED => Message::EventReceived {
                publication: f.id("EVENT.Publication")?,
            },
            code::CALL => Message::Call {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                procedure: f.string("Procedure")?,
                payload,
            },
            code::CANCEL => Message::Cancel {
                request: f.id("CALL.Request")?,
                options: f.dict("Options")?,
            },
            code::RESULT => Message::Result {
                request: f.id("CALL.Request")?,
                details: f.dict("Details")?,
                payload,
            },
            code::REGISTER => Message::Register {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                procedure: f.string("Procedure")?,
            },
            code::REGISTERED => Message::Registered {
                request: f.id("REGISTER.Request")?,
                registration: f.id("Registration")?,
            },
            code::UNREGISTER => Message::Unregister {
                request: f.id("Request")?,
                registration: f.id("REGISTERED.Registration")?,
            },
            code::UNREGISTERED => {
                let (request, details) = f.revocable("UNREGISTER.Request", "registration")?;
                Message::Unregistered { request, details }
            }
            code::INVOCATION => Message::Invocation {
                request: f.id("Request")?,
                registration: f.id("REGISTERED.Registration")?,
                details: f.dict("Details")?,
                payload,
            },
            code::INTERRUPT => Message::Interrupt {
                request: f.id("INVOCATION.Request")?,
                options: f.dict("Options")?,
            },
            code::YIELD => Message::Yield {
                request: f.id("INVOCATION.Request")?,
                options: f.dict("Options")?,
                payload,
            },
            other => return Err(DecodeError::UnknownType(other)),
        };
        if payload_index(code).is_none() && has_payload {
            return Err(DecodeError::Arity {
                message: name_of(code),
            });
        }
        f.finish()?;
        options::validate(&msg)?;
        Ok(msg)
    }
}

/// The specification's name of a message type code.
pub fn name_of(code: u64) -> &'static str {
    match code {
        code::HELLO => "HELLO",
        code::WELCOME => "WELCOME",
        code::ABORT => "ABORT",
        code::CHALLENGE => "CHALLENGE",
        code::AUTHENTICATE => "AUTHENTICATE",
        code::GOODBYE => "GOODBYE",
        code::ERROR => "ERROR",
        code::PUBLISH => "PUBLISH",
        code::PUBLISHED => "PUBLISHED",
        code::SUBSCRIBE => "SUBSCRIBE",
        code::SUBSCRIBED => "SUBSCRIBED",
        code::UNSUBSCRIBE => "UNSUBSCRIBE",
        code::UNSUBSCRIBED => "UNSUBSCRIBED",
        code::EVENT => "EVENT",
        code::EVENT_RECEIVED => "EVENT_RECEIVED",
        code::CALL => "CALL",
        code::CANCEL => "CANCEL",
        code::RESULT => "RESULT",
        code::REGISTER => "REGISTER",
        code::REGISTERED => "REGISTERED",
        code::UNREGISTER => "UNREGISTER",
        code::UNREGISTERED => "UNREGISTERED",
        code::INVOCATION => "INVOCATION",
        code::INTERRUPT => "INTERRUPT",
        code::YIELD => "YIELD",
        _ => "UNKNOWN",
    }
}

/// Reads envelope fields in order, with errors that name the field.
struct Reader {
    code: u64,
    name: &'static str,
    items: std::vec::IntoIter<Value>,
}

impl Reader {
    fn new(fields: Vec<Value>) -> Result<Self, DecodeError> {
        let mut items = fields.into_iter();
        let code = match items.next() {
            None => return Err(DecodeError::Invalid("empty message array".into())),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| DecodeError::shape("message type", "integer", &v))?,
        };
        Ok(Self {
            code,
            name: name_of(code),
            items,
        })
    }

    fn next(&mut self, field: &'static str) -> Result<Value, DecodeError> {
        self.items.next().ok_or(DecodeError::Missing {
            message: self.name,
            field,
        })
    }

    fn wrong(&self, field: &'static str, expected: &'static str, v: &Value) -> DecodeError {
        DecodeError::FieldType {
            message: self.name,
            field,
            expected,
            found: v.kind(),
        }
    }

    fn int(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let v = self.next(field)?;
        v.as_u64().ok_or_else(|| self.wrong(field, "integer", &v))
    }

    fn id(&mut self, field: &'static str) -> Result<Id, DecodeError> {
        let v = self.next(field)?;
        self.check_id(field, v)
    }

    fn check_id(&self, field: &'static str, v: Value) -> Result<Id, DecodeError> {
        match v.as_u64() {
            Some(id) if is_valid_id(id) => Ok(id),
            Some(_) | None if matches!(v, Value::Int(_) | Value::UInt(_)) => {
                Err(DecodeError::IdOutOfRange {
                    message: self.name,
                    field,
                })
            }
            _ => Err(self.wrong(field, "id", &v)),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        match self.next(field)? {
            Value::Str(s) => Ok(s),
            v => Err(self.wrong(field, "string", &v)),
        }
    }

    fn uri(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let s = self.string(field)?;
        if is_valid_uri(&s, UriRule::Loose) {
            Ok(s)
        } else {
            Err(DecodeError::InvalidUri {
                message: self.name,
                field,
                uri: s,
            })
        }
    }

    fn dict(&mut self, field: &'static str) -> Result<Dict, DecodeError> {
        match self.next(field)? {
            Value::Dict(d) => Ok(d),
            v => Err(self.wrong(field, "dict", &v)),
        }
    }

    fn optional_dict(&mut self, field: &'static str) -> Result<Option<Dict>, DecodeError> {
        match self.items.next() {
            None => Ok(None),
            Some(Value::Dict(d)) => Ok(Some(d)),
            Some(v) => Err(self.wrong(field, "dict", &v)),
        }
    }

    /// The request ID and details of UNSUBSCRIBED or UNREGISTERED. Request `0` is the
    /// revocation form of the Advanced Profile (the router ended a subscription or
    /// registration on its own): it must carry details naming the `key` it revokes.
    fn revocable(
        &mut self,
        field: &'static str,
        key: &'static str,
    ) -> Result<(Id, Option<Dict>), DecodeError> {
        let v = self.next(field)?;
        if v.as_u64() != Some(0) {
            let request = self.check_id(field, v)?;
            return Ok((request, self.optional_dict("Details")?));
        }
        let details = self.optional_dict("Details")?;
        match details {
            Some(d) if d.get(key).and_then(Value::as_u64).is_some_and(is_valid_id) => {
                Ok((0, Some(d)))
            }
            _ => Err(DecodeError::IdOutOfRange {
                message: self.name,
                field,
            }),
        }
    }

    fn finish(mut self) -> Result<(), DecodeError> {
        match self.items.next() {
            None => Ok(()),
            Some(_) => Err(DecodeError::Arity { message: self.name }),
        }
    }
}
