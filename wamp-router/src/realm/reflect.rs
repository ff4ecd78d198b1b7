//! The reflection API of a realm: `wamp.reflect.define` (a callee describes what it
//! registered), `wamp.reflection.{procedure,topic,error}.{list,describe}` and
//! `wamp.reflect.describe` (anyone asks, and sees what its role may call or subscribe
//! to), and the `wamp.reflect.on_define` / `on_undefine` events.
//!
//! What it answers (the spec names the procedures, not their arguments; this is ours):
//! - `wamp.reflect.define(interface)`: `interface` is a `wamp-interface` description (see
//!   `wamp_runtime::interface`). Its procedures must be registered by the calling session
//!   (register first, then define), its topics must be ones the session's role may
//!   publish or subscribe to (others are skipped), errors under `wamp.` are the spec's and
//!   not kept. Answers `[{"procedures": [...], "topics": [...], "errors": [...],
//!   "skipped": [...]}]`. If an item is already described otherwise (by another callee of
//!   a shared registration, say), nothing is defined and the answer is
//!   `wamp.error.invalid_argument` naming the item and the first difference.
//! - `wamp.reflection.<kind>.list()`: `[[uri, ...]]`, the URIs as written (with
//!   `{placeholders}`), sorted.
//! - `wamp.reflection.<kind>.describe(uri)`: `[description]`; `uri` may be as written,
//!   as registered, or (procedures and topics) a concrete URI that the item matches. An
//!   unknown one is `wamp.error.no_such_procedure` for procedures, else
//!   `wamp.error.invalid_argument`.
//! - `wamp.reflect.describe(uri)`: the procedure, else the topic, else the error.
//! - Events: `wamp.reflect.on_define` and `on_undefine` with `args = [uri]` and
//!   `kwargs = {"type": "procedure" | "topic" | "error"}`, sent only to subscribers who may
//!   see the item.

use wamp_runtime::interface::{Document, Interface, Kind, FORMAT, VERSION};
use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{error, from_value, Dict, Id, List, Payload, PayloadValues, Value};

use super::meta::MetaResult;
use super::State;
use crate::authorizer::Action;
use crate::reflection::{Changed, Key, Offered};

fn invalid(text: impl Into<String>) -> (&'static str, String) {
    (error::INVALID_ARGUMENT, text.into())
}

fn kind_named(name: &str) -> Option<Kind> {
    match name {
        "procedure" => Some(Kind::Procedure),
        "topic" => Some(Kind::Topic),
        "error" => Some(Kind::Error),
        _ => None,
    }
}

/// What becomes of one item of a definition.
enum Offer {
    /// The store keeps it.
    Keep(Offered),
    /// Left out (a topic the session's role may neither publish nor subscribe to, a spec
    /// error): its URI.
    Skip(String),
}

impl State {
    /// Answers a reflection procedure; `None` if `procedure` is none.
    pub(super) fn reflection_call(
        &mut self,
        session: Id,
        procedure: &str,
        args: &List,
        kwargs: &Dict,
    ) -> Option<MetaResult> {
        let uri_arg = || {
            args.first()
                .or_else(|| kwargs.get("uri"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("the URI to describe is missing or not a string"))
        };
        if procedure == "wamp.reflect.define" {
            return Some(self.define(session, args, kwargs));
        }
        if procedure == "wamp.reflect.describe" {
            return Some(uri_arg().and_then(|u| {
                [Kind::Procedure, Kind::Topic, Kind::Error]
                    .into_iter()
                    .find_map(|k| self.describe(session, k, u).ok())
                    .ok_or_else(|| invalid(format!("nothing is described as {u:?}")))
            }));
        }
        let rest = procedure.strip_prefix("wamp.reflection.")?;
        let (kind, what) = rest.split_once('.')?;
        let kind = kind_named(kind)?;
        Some(match what {
            "list" => Ok(vec![Value::List(self.visible_uris(session, kind))]),
            "describe" => uri_arg().and_then(|u| self.describe(session, kind, u)),
            _ => return None,
        })
    }

    /// `wamp.reflect.define(interface)`.
    fn define(&mut self, session: Id, args: &List, kwargs: &Dict) -> MetaResult {
        let given = args
            .first()
            .or_else(|| kwargs.get("interface"))
            .cloned()
            .ok_or_else(|| invalid("the interface description is missing"))?;
        let interface: Interface =
            from_value(given).map_err(|e| invalid(format!("not a {FORMAT} description: {e}")))?;
        if interface.format != FORMAT {
            return Err(invalid(format!(
                "the format is {:?}, not {FORMAT:?}",
                interface.format
            )));
        }
        if interface.version > VERSION {
            return Err(invalid(format!(
                "version {} of {FORMAT} is newer than this router reads ({VERSION})",
                interface.version
            )));
        }
        let mut offered = Vec::new();
        let mut skipped = Vec::new();
        for doc in interface.documents() {
            match self.offer(session, &interface, doc)? {
                Offer::Keep(o) => offered.push(o),
                Offer::Skip(uri) => skipped.push(Value::Str(uri)),
            }
        }
        let mut defined: [List; 3] = Default::default();
        for o in &offered {
            defined[o.key.0 as usize].push(Value::Str(o.key.1.clone()));
        }
        let added = self
            .reflection
            .define(session, offered)
            .map_err(|c| invalid(c.text))?;
        tracing::debug!(session, interface = interface.name, "interface defined");
        self.reflection_events(added, true);
        let [procedures, topics, errors] = defined;
        let mut answer = Dict::new();
        answer.insert("procedures".into(), Value::List(procedures));
        answer.insert("topics".into(), Value::List(topics));
        answer.insert("errors".into(), Value::List(errors));
        answer.insert("skipped".into(), Value::List(skipped));
        Ok(vec![Value::Dict(answer)])
    }

    /// One item of a definition: kept, left out, or (`Err`) why the definition is refused.
    fn offer(
        &self,
        session: Id,
        interface: &Interface,
        doc: Document,
    ) -> Result<Offer, (&'static str, String)> {
        let key: Key = (doc.kind, doc.uri.clone());
        let made = |pattern: String, policy, errors, registration| Offered {
            key: key.clone(),
            json: doc.json.clone(),
            pattern,
            policy,
            errors,
            registration,
        };
        Ok(match doc.kind {
            Kind::Procedure => {
                let Some(p) = interface.procedure(&doc.uri) else {
                    return Ok(Offer::Skip(doc.uri));
                };
                let policy = MatchPolicy::from(p.match_policy);
                let dealer = self.routing.registrations();
                let registration = dealer.lookup(&p.pattern, policy).filter(|id| {
                    dealer
                        .get(*id)
                        .is_some_and(|r| r.callees.iter().any(|c| c.session == session))
                });
                let Some(registration) = registration else {
                    return Err(invalid(format!(
                        "procedure {:?} ({} {:?}) is not registered by this session: register it, then define it",
                        p.uri,
                        policy.as_str(),
                        p.pattern
                    )));
                };
                Offer::Keep(made(
                    p.pattern.clone(),
                    policy,
                    p.errors.clone(),
                    Some(registration),
                ))
            }
            Kind::Topic => {
                let Some(t) = interface.topic(&doc.uri) else {
                    return Ok(Offer::Skip(doc.uri));
                };
                let may = |a| self.authorize(session, a, &t.pattern).is_ok();
                if !may(Action::Publish) && !may(Action::Subscribe) {
                    return Ok(Offer::Skip(doc.uri));
                }
                Offer::Keep(made(
                    t.pattern.clone(),
                    t.match_policy.into(),
                    Vec::new(),
                    None,
                ))
            }
            Kind::Error if doc.uri.starts_with("wamp.") => Offer::Skip(doc.uri),
            Kind::Error => Offer::Keep(made(doc.uri.clone(), MatchPolicy::Exact, Vec::new(), None)),
        })
    }

    /// Whether `session` may see the item of `kind` at `uri` (`pattern` as registered or
    /// subscribed): call the procedure, subscribe to or publish to the topic, call a
    /// procedure that answers with the error.
    fn sees(&self, session: Id, kind: Kind, uri: &str, pattern: &str) -> bool {
        let may = |a| self.authorize(session, a, pattern).is_ok();
        match kind {
            Kind::Procedure => may(Action::Call),
            Kind::Topic => may(Action::Subscribe) || may(Action::Publish),
            Kind::Error => self.reflection.of_kind(Kind::Procedure).any(|(p, i)| {
                i.errors.iter().any(|e| e == uri)
                    && self.sees(session, Kind::Procedure, p, &i.pattern)
            }),
        }
    }

    fn visible_uris(&self, session: Id, kind: Kind) -> List {
        self.reflection
            .of_kind(kind)
            .filter(|(u, i)| self.sees(session, kind, u, &i.pattern))
            .map(|(u, _)| Value::Str(u.to_owned()))
            .collect()
    }

    /// `wamp.reflection.<kind>.describe(uri)`.
    fn describe(&self, session: Id, kind: Kind, uri: &str) -> MetaResult {
        let found = self.reflection.get(kind, uri).or_else(|| match kind {
            Kind::Procedure => {
                let dealer = self.routing.registrations();
                let r = dealer.get(dealer.find(uri)?)?;
                self.reflection.procedure_at(&r.procedure, r.policy)
            }
            Kind::Topic => self
                .reflection
                .of_kind(Kind::Topic)
                .find(|(_, i)| uri::matches(&i.pattern, i.policy, uri)),
            Kind::Error => None,
        });
        match found {
            Some((u, item)) if self.sees(session, kind, u, &item.pattern) => {
                Ok(vec![json_value(&item.json)])
            }
            _ if kind == Kind::Procedure => Err((
                error::NO_SUCH_PROCEDURE,
                format!("no procedure described as {uri:?}"),
            )),
            _ => Err(invalid(format!(
                "no {} described as {uri:?}",
                kind.as_str()
            ))),
        }
    }

    /// Whether the description of the procedure a call to `procedure` goes to admits
    /// `payload` (`Ok` when the realm does not validate, or nothing describes it).
    pub(super) fn validate_call(&self, procedure: &str, payload: &Payload) -> Result<(), String> {
        if !self.reflection.validates() {
            return Ok(());
        }
        let dealer = self.routing.registrations();
        let Some(r) = dealer.find(procedure).and_then(|id| dealer.get(id)) else {
            return Ok(());
        };
        let Some(check) = self.reflection.call_check(&r.procedure, r.policy) else {
            return Ok(());
        };
        match arguments(payload)? {
            Some((args, kwargs)) => check.check(&args, &kwargs),
            None => Ok(()),
        }
    }

    /// Whether the descriptions of the topics `topic` matches admit `payload`.
    pub(super) fn validate_event(&self, topic: &str, payload: &Payload) -> Result<(), String> {
        if !self.reflection.validates() {
            return Ok(());
        }
        let mut checks = self.reflection.event_checks(topic).peekable();
        if checks.peek().is_none() {
            return Ok(());
        }
        let Some((args, kwargs)) = arguments(payload)? else {
            return Ok(());
        };
        for (uri, check) in checks {
            check
                .check(&args, &kwargs)
                .map_err(|e| format!("{e} (topic {uri})"))?;
        }
        Ok(())
    }

    /// `session` no longer holds `registration`: its descriptions of it go.
    pub(super) fn registration_left(&mut self, session: Id, registration: Id) {
        let undefined = self.reflection.registration_gone(session, registration);
        self.reflection_events(undefined, false);
    }

    /// `wamp.reflect.on_define` (`defined`) or `on_undefine` for each of `keys`.
    pub(super) fn reflection_events(&self, changed: Vec<Changed>, defined: bool) {
        let topic = if defined {
            "wamp.reflect.on_define"
        } else {
            "wamp.reflect.on_undefine"
        };
        for ((kind, uri), pattern) in changed {
            let mut kwargs = Dict::new();
            kwargs.insert("type".into(), Value::Str(kind.as_str().into()));
            let payload = Payload::new(vec![Value::Str(uri.clone())], kwargs);
            // An error's visibility follows procedures that may be gone: everyone is told.
            self.meta_event_where(topic, payload, |sid| {
                kind == Kind::Error || self.sees(sid, kind, &uri, &pattern)
            });
        }
    }
}

/// A payload's args and kwargs, decoded; `None` for an opaque one (not looked into).
fn arguments(payload: &Payload) -> Result<Option<(List, Dict)>, String> {
    match payload.to_values() {
        Ok(PayloadValues::Empty) => Ok(Some((List::new(), Dict::new()))),
        Ok(PayloadValues::Args { args, kwargs }) => Ok(Some((args, kwargs.unwrap_or_default()))),
        Ok(PayloadValues::Transparent(_)) => Ok(None),
        Err(e) => Err(format!("the payload does not decode: {e}")),
    }
}

/// A description as a WAMP value.
fn json_value(json: &serde_json::Value) -> Value {
    wamp_runtime::proto::to_value(json).unwrap_or(Value::Null)
}
