//! Session testaments (Advanced Profile): events a session leaves with the router, to be
//! published when the session goes away, cleanly or not (`wamp.session.add_testament`,
//! `wamp.session.flush_testaments`).
//!
//! Without session resumption a session is detached and destroyed at the same moment: its
//! `detached` testaments go out first, then its `destroyed` ones, each in the order they
//! were added, before the `wamp.session.on_leave` meta event.

use std::collections::HashMap;

use wamp_runtime::proto::uri;
use wamp_runtime::proto::{error, global_id, Dict, Id, List, Payload, PublishOptions, Value};

use super::meta::MetaResult;
use super::{Realm, State};
use crate::broker::Retained;

/// The most testaments a session may leave (both scopes together).
pub(crate) const MAX_PER_SESSION: usize = 64;

/// When a testament is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// When the session is detached from its transport.
    Detached,
    /// When the session ends for good (the default).
    Destroyed,
}

impl Scope {
    /// The `scope` argument (absent: `destroyed`).
    fn of(given: Option<&Value>) -> Result<Self, (&'static str, String)> {
        match given {
            None | Some(Value::Null) => Ok(Self::Destroyed),
            Some(Value::Str(s)) if s == "destroyed" => Ok(Self::Destroyed),
            Some(Value::Str(s)) if s == "detached" => Ok(Self::Detached),
            Some(other) => Err(invalid(format!(
                "scope must be \"destroyed\" or \"detached\", not {other:?}"
            ))),
        }
    }
}

/// One event to publish when its session goes.
#[derive(Debug)]
struct Testament {
    topic: String,
    /// The publication as it will go out (its ID is given when the testament is added).
    publication: Retained,
}

/// The testaments of the sessions of a realm.
#[derive(Debug, Default)]
pub(crate) struct Testaments {
    by_session: HashMap<Id, Left>,
}

/// One session's testaments, by scope, in the order they were added.
#[derive(Debug, Default)]
struct Left {
    detached: Vec<Testament>,
    destroyed: Vec<Testament>,
}

impl Left {
    fn scope(&mut self, scope: Scope) -> &mut Vec<Testament> {
        match scope {
            Scope::Detached => &mut self.detached,
            Scope::Destroyed => &mut self.destroyed,
        }
    }

    fn len(&self) -> usize {
        self.detached.len() + self.destroyed.len()
    }
}

fn invalid(text: impl Into<String>) -> (&'static str, String) {
    (error::INVALID_ARGUMENT, text.into())
}

impl Realm {
    /// `wamp.session.add_testament` and `wamp.session.flush_testaments` for `session`;
    /// `None` for any other procedure.
    pub(super) fn testament_call(
        &self,
        st: &mut State,
        session: Id,
        procedure: &str,
        payload: &Payload,
    ) -> Option<MetaResult> {
        let add = match procedure {
            "wamp.session.add_testament" => true,
            "wamp.session.flush_testaments" => false,
            _ => return None,
        };
        let Some((args, kwargs)) = super::meta::arguments(payload) else {
            return Some(Err(invalid(
                "testament arguments must be args and kwargs (not an opaque payload)",
            )));
        };
        Some(if add {
            self.add_testament(st, session, args, &kwargs)
        } else {
            flush(st, session, &args, &kwargs)
        })
    }

    /// Checks and keeps a testament: the topic (a URI this session may publish to), the
    /// event's args and kwargs, its `publish_options` and `scope`. Answers the publication
    /// ID the event will have (Crossbar.io's answer; the spec's is empty).
    fn add_testament(&self, st: &mut State, session: Id, args: List, kwargs: &Dict) -> MetaResult {
        let mut args = args.into_iter();
        let topic = match args.next() {
            Some(Value::Str(t)) => t,
            Some(_) => return Err(invalid("the topic must be a URI string")),
            None => return Err(invalid("the topic is missing")),
        };
        let event_args = match args.next() {
            None | Some(Value::Null) => List::new(),
            Some(Value::List(l)) => l,
            Some(_) => return Err(invalid("the event's args must be a list")),
        };
        let event_kwargs = match args.next() {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d,
            Some(_) => return Err(invalid("the event's kwargs must be a dict")),
        };
        // publish_options and scope are keyword arguments (the spec), or the fourth and
        // fifth positional ones (Crossbar.io takes both).
        let (options_at, scope_at) = (args.next(), args.next());
        if args.next().is_some() {
            return Err(invalid(
                "add_testament takes topic, args, kwargs, publish_options and scope",
            ));
        }
        let scope = Scope::of(kwargs.get("scope").or(scope_at.as_ref()))?;
        let mut options = match kwargs.get("publish_options").or(options_at.as_ref()) {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d.clone(),
            Some(_) => return Err(invalid("publish_options must be a dict")),
        };
        // As Crossbar.io: nobody is left to acknowledge to, or to exclude.
        options.shift_remove("acknowledge");
        options.shift_remove("exclude_me");
        let options = PublishOptions::parse(&options)
            .map_err(|e| invalid(format!("publish_options: {e}")))?;
        if options.passthru.is_set() {
            return Err(invalid(
                "a testament's payload is its args and kwargs: payload passthru options do not apply",
            ));
        }
        if !uri::is_valid_uri(&topic, self.uri_rule) {
            return Err((error::INVALID_URI, format!("invalid topic URI {topic:?}")));
        }
        if topic.starts_with("wamp.") {
            let text = format!("topic {topic:?} is reserved for the router");
            return Err((error::INVALID_URI, text));
        }
        let action = crate::authorizer::Action::Publish;
        self.authorize(st, session, action, &topic)
            .map_err(|text| (error::NOT_AUTHORIZED, text))?;
        let payload = Payload::new(event_args, event_kwargs);
        st.validate_event(&topic, &payload)
            .map_err(|text| (error::INVALID_ARGUMENT, text))?;
        let held = st.testaments.by_session.get(&session).map_or(0, Left::len);
        if held >= MAX_PER_SESSION {
            return Err(invalid(format!(
                "this router keeps at most {MAX_PER_SESSION} testaments per session"
            )));
        }
        let mut identity = Dict::new();
        if self.discloses(st, session, false, &topic) || options.disclose_me {
            st.identify(session, "publisher", &mut identity);
        }
        let publication = global_id();
        let testament = Testament {
            topic,
            publication: Retained {
                publication,
                publisher: session,
                identity,
                options,
                passthru: false,
                payload,
            },
        };
        st.testaments
            .by_session
            .entry(session)
            .or_default()
            .scope(scope)
            .push(testament);
        Ok(vec![Value::from(publication)])
    }
}

/// Drops `session`'s testaments of the `scope` asked (a keyword argument, or the first
/// positional one); answers how many went (Crossbar.io's answer; the spec's is empty).
fn flush(st: &mut State, session: Id, args: &List, kwargs: &Dict) -> MetaResult {
    let scope = Scope::of(kwargs.get("scope").or(args.first()))?;
    let Some(left) = st.testaments.by_session.get_mut(&session) else {
        return Ok(vec![Value::from(0u64)]);
    };
    let flushed = std::mem::take(left.scope(scope)).len();
    if left.len() == 0 {
        st.testaments.by_session.remove(&session);
    }
    Ok(vec![Value::from(flushed as u64)])
}

impl State {
    /// Publishes what a leaving session left: `detached` testaments, then `destroyed`
    /// ones. The session is already gone from the realm, so it receives none of them.
    pub(super) fn publish_testaments(&mut self, session: Id) {
        let Some(left) = self.testaments.by_session.remove(&session) else {
            return;
        };
        let stats = self.stats.clone();
        for t in left.detached.into_iter().chain(left.destroyed) {
            let topic = t.topic;
            let publication = t.publication.publication;
            match self.route_publication(&stats, &topic, t.publication) {
                Ok(()) => tracing::debug!(session, topic, publication, "testament published"),
                Err(e) => tracing::warn!(session, topic, "testament not published: {e}"),
            }
        }
    }
}
