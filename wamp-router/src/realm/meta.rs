//! The WAMP meta API of every realm, in one place: the `wamp.session.*`,
//! `wamp.registration.*` and `wamp.subscription.*` procedures (Crossbar.io's
//! `remove_callee` and `remove_subscriber` too), answered by the realm itself; the meta
//! events it publishes when sessions join and leave and registrations and subscriptions
//! change; and the revocation messages of the Advanced Profile.

use wamp_runtime::proto::uri::{MatchPolicy, UriRule};
use wamp_runtime::proto::{error, global_id, Dict, Id, List, Message, Payload, Value};

use super::State;
use crate::broker::Broker;
use crate::dealer::Dealer;

use super::routing::Change;

/// What the meta API needs to know of a session.
pub(crate) struct SessionInfo<'a> {
    pub id: Id,
    pub authid: &'a str,
    pub authrole: &'a str,
    pub authmethod: &'a str,
    pub transport: &'a str,
    /// Where the connection comes from ("tcp4:127.0.0.1:50312").
    pub peer: &'a str,
    /// `static`, `dynamic` or `router`.
    pub authprovider: &'a str,
}

impl SessionInfo<'_> {
    /// The session's details, as `wamp.session.get` and `wamp.session.on_join` give them.
    pub fn details(&self) -> Dict {
        let mut d = Dict::new();
        d.insert("session".into(), Value::from(self.id));
        d.insert("authid".into(), Value::Str(self.authid.to_owned()));
        d.insert("authrole".into(), Value::Str(self.authrole.to_owned()));
        d.insert("authmethod".into(), Value::Str(self.authmethod.to_owned()));
        d.insert(
            "authprovider".into(),
            Value::Str(self.authprovider.to_owned()),
        );
        let mut t = Dict::new();
        t.insert("type".into(), Value::Str(self.transport.to_owned()));
        t.insert("peer".into(), Value::Str(self.peer.to_owned()));
        d.insert("transport".into(), Value::Dict(t));
        d
    }
}

/// An answer of a meta procedure: its result, or an error URI and message.
pub(crate) type MetaResult = Result<List, (&'static str, String)>;

/// A meta procedure's arguments and keyword arguments (none for an empty payload);
/// `None` for an opaque payload or one that cannot be read.
pub(super) fn arguments(payload: &Payload) -> Option<(List, Dict)> {
    match payload.to_values() {
        Ok(wamp_runtime::proto::PayloadValues::Args { args, kwargs }) => {
            Some((args, kwargs.unwrap_or_default()))
        }
        Ok(wamp_runtime::proto::PayloadValues::Empty) => Some((List::new(), Dict::new())),
        _ => None,
    }
}

fn invalid(text: impl Into<String>) -> (&'static str, String) {
    (error::INVALID_ARGUMENT, text.into())
}

/// The ID argument at `index`.
fn id_arg(args: &List, index: usize, what: &str) -> Result<Id, (&'static str, String)> {
    args.get(index)
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("the {what} ID is missing or not an ID")))
}

/// The string argument at `index`.
fn str_arg<'a>(
    args: &'a List,
    index: usize,
    what: &str,
) -> Result<&'a str, (&'static str, String)> {
    args.get(index)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("the {what} is missing or not a string")))
}

/// The `match` option of a lookup (positional dict or kwargs).
fn match_of(args: &List, kwargs: &Dict) -> Result<MatchPolicy, (&'static str, String)> {
    let m = args
        .get(1)
        .and_then(Value::as_dict)
        .and_then(|d| d.get("match"))
        .or_else(|| kwargs.get("match"))
        .and_then(Value::as_str);
    match m {
        None => Ok(MatchPolicy::Exact),
        Some(m) => {
            MatchPolicy::parse(m).ok_or_else(|| invalid(format!("unknown match policy {m:?}")))
        }
    }
}

fn ids_by_policy<'a>(items: impl Iterator<Item = (Id, MatchPolicy)> + 'a) -> Dict {
    let mut d = Dict::new();
    for p in ["exact", "prefix", "wildcard"] {
        d.insert(p.into(), Value::List(List::new()));
    }
    for (id, policy) in items {
        if let Some(Value::List(l)) = d.get_mut(policy.as_str()) {
            l.push(Value::from(id));
        }
    }
    d
}

/// `wamp.registration.get`'s description of registration `id`.
pub(crate) fn registration_details(dealer: &Dealer, id: Id) -> Option<Dict> {
    let r = dealer.get(id)?;
    let mut d = Dict::new();
    d.insert("id".into(), Value::from(id));
    d.insert("created".into(), Value::Str(r.created.clone()));
    d.insert("uri".into(), Value::Str(r.procedure.clone()));
    d.insert("match".into(), Value::Str(r.policy.as_str().into()));
    d.insert("invoke".into(), Value::Str(r.invoke.as_str().into()));
    Some(d)
}

/// `wamp.subscription.get`'s description of subscription `id`.
pub(crate) fn subscription_details(broker: &Broker, id: Id) -> Option<Dict> {
    let s = broker.get(id)?;
    let mut d = Dict::new();
    d.insert("id".into(), Value::from(id));
    d.insert("created".into(), Value::Str(s.created.clone()));
    d.insert("uri".into(), Value::Str(s.topic.clone()));
    d.insert("match".into(), Value::Str(s.policy.as_str().into()));
    Some(d)
}

/// A registration or subscription meta procedure (the session procedures need the realm,
/// which answers them itself). `None` when `procedure` is not one of them.
pub(crate) fn call(
    procedure: &str,
    args: &List,
    kwargs: &Dict,
    broker: &Broker,
    dealer: &Dealer,
) -> Option<MetaResult> {
    let no_reg = || {
        (
            error::NO_SUCH_REGISTRATION,
            "no such registration".to_owned(),
        )
    };
    let no_sub = || {
        (
            error::NO_SUCH_SUBSCRIPTION,
            "no such subscription".to_owned(),
        )
    };
    let opt_id = |id: Option<Id>| vec![id.map_or(Value::Null, Value::from)];
    Some(match procedure {
        "wamp.registration.list" => Ok(vec![Value::Dict(ids_by_policy(
            dealer.all().map(|(id, r)| (id, r.policy)),
        ))]),
        "wamp.registration.lookup" => (|| {
            let uri = str_arg(args, 0, "procedure URI")?;
            Ok(opt_id(dealer.lookup(uri, match_of(args, kwargs)?)))
        })(),
        "wamp.registration.match" => {
            str_arg(args, 0, "procedure URI").map(|uri| opt_id(dealer.find(uri)))
        }
        "wamp.registration.get" => id_arg(args, 0, "registration").and_then(|id| {
            registration_details(dealer, id)
                .map(|d| vec![Value::Dict(d)])
                .ok_or_else(no_reg)
        }),
        "wamp.registration.list_callees" | "wamp.registration.count_callees" => {
            id_arg(args, 0, "registration").and_then(|id| {
                let r = dealer.get(id).ok_or_else(no_reg)?;
                Ok(if procedure.ends_with("count_callees") {
                    vec![Value::from(r.callees.len() as u64)]
                } else {
                    let ids = r.callees.iter().map(|c| Value::from(c.session)).collect();
                    vec![Value::List(ids)]
                })
            })
        }
        "wamp.subscription.list" => Ok(vec![Value::Dict(ids_by_policy(
            broker.all().map(|(id, s)| (id, s.policy)),
        ))]),
        "wamp.subscription.lookup" => (|| {
            let uri = str_arg(args, 0, "topic URI")?;
            Ok(opt_id(broker.lookup(uri, match_of(args, kwargs)?)))
        })(),
        "wamp.subscription.match" => str_arg(args, 0, "topic URI").map(|uri| {
            let ids: List = broker
                .matching(uri)
                .iter()
                .map(|m| Value::from(m.id))
                .collect();
            vec![if ids.is_empty() {
                Value::Null
            } else {
                Value::List(ids)
            }]
        }),
        "wamp.subscription.get" => id_arg(args, 0, "subscription").and_then(|id| {
            subscription_details(broker, id)
                .map(|d| vec![Value::Dict(d)])
                .ok_or_else(no_sub)
        }),
        "wamp.subscription.list_subscribers" | "wamp.subscription.count_subscribers" => {
            id_arg(args, 0, "subscription").and_then(|id| {
                let s = broker.get(id).ok_or_else(no_sub)?;
                // The event history's subscriber is no session.
                let sessions = s
                    .subscribers
                    .iter()
                    .filter(|&&id| id != super::history::HISTORY);
                Ok(if procedure.ends_with("count_subscribers") {
                    vec![Value::from(sessions.count() as u64)]
                } else {
                    let mut ids: Vec<Id> = sessions.copied().collect();
                    ids.sort_unstable();
                    vec![Value::List(ids.into_iter().map(Value::from).collect())]
                })
            })
        }
        _ => return None,
    })
}

/// The `filter_authroles` argument of `wamp.session.count` and `wamp.session.list`.
pub(crate) fn authrole_filter(args: &List) -> Option<Vec<String>> {
    args.first().and_then(Value::as_list).map(|l| {
        l.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// What the router takes away from a session on its own (revocation).
#[derive(Debug, Clone, Copy)]
pub(super) enum Revoked {
    Registration,
    Subscription,
}

impl State {
    /// Publishes a meta event to whoever subscribed to `topic`.
    pub(super) fn meta_event(&self, topic: &str, args: List) {
        let payload = Payload::args(args);
        if self.routing.link().is_none() || self.meta_here_only {
            return self.meta_event_where(topic, payload, |_| true);
        }
        self.meta_event_where(topic, payload.clone(), |_| true);
        // On a cluster, the other nodes' subscribers hear of it too.
        let filter = wamp_runtime::proto::PublishOptions {
            exclude_me: false,
            ..Default::default()
        };
        self.routing.forward_event(&crate::cluster::EventRef {
            topic,
            publication: global_id(),
            publisher: 0,
            identity: &Dict::new(),
            filter: &filter,
            passthru: false,
            payload: &payload,
        });
    }

    /// Publishes a meta event to the subscribers to `topic` that `to` lets through.
    pub(super) fn meta_event_where(&self, topic: &str, payload: Payload, to: impl Fn(Id) -> bool) {
        let publication = global_id();
        for m in self.routing.receivers(topic) {
            let mut details = Dict::new();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            for &sid in &m.sub.subscribers {
                if !to(sid) {
                    continue;
                }
                if let Some(peer) = self.sessions.get(&sid) {
                    let event = Message::Event {
                        subscription: m.id,
                        publication,
                        details: details.clone(),
                        payload: payload.clone(),
                    };
                    peer.outbox.push(sid, event);
                }
            }
        }
    }

    /// The meta events of a subscription change: `on_create` and `on_subscribe`, or
    /// `on_unsubscribe` and `on_delete`.
    pub(super) fn subscription_events(&self, session: Id, change: Change, subscribed: bool) {
        let Change { id, first_or_last } = change;
        let details = || subscription_details(self.routing.subscriptions(), id);
        let names = ["subscribe", "unsubscribe"];
        self.membership_events(
            "wamp.subscription",
            names,
            session,
            id,
            subscribed,
            first_or_last,
            details,
        );
    }

    /// The meta events of a registration change, like [`State::subscription_events`].
    pub(super) fn registration_events(&mut self, session: Id, change: Change, registered: bool) {
        let Change { id, first_or_last } = change;
        if !registered {
            self.registration_left(session, id);
        }
        let details = || registration_details(self.routing.registrations(), id);
        let names = ["register", "unregister"];
        self.membership_events(
            "wamp.registration",
            names,
            session,
            id,
            registered,
            first_or_last,
            details,
        );
    }

    /// `wamp.registration.on_unregister` for `callee` leaving `registration`, then
    /// `on_delete` when the registration went with it (a callee the router took off).
    pub(super) fn callee_left_events(&self, callee: Id, registration: Id, deleted: bool) {
        let pair = vec![Value::from(callee), Value::from(registration)];
        self.meta_event("wamp.registration.on_unregister", pair.clone());
        if deleted {
            self.meta_event("wamp.registration.on_delete", pair);
        }
    }

    /// `{prefix}.on_create` and `{prefix}.on_{join}` when `session` joined (created: the
    /// object is new), or `{prefix}.on_{leave}` and `{prefix}.on_delete` when it left
    /// (deleted: it was the last).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn membership_events(
        &self,
        prefix: &str,
        [join, leave]: [&str; 2],
        session: Id,
        id: Id,
        joined: bool,
        changed: bool,
        details: impl FnOnce() -> Option<Dict>,
    ) {
        let who = Value::from(session);
        let pair = vec![who.clone(), Value::from(id)];
        if joined {
            if changed {
                if let Some(d) = details() {
                    let event = vec![who, Value::Dict(d)];
                    self.meta_event(&format!("{prefix}.on_create"), event);
                }
            }
            self.meta_event(&format!("{prefix}.on_{join}"), pair);
        } else {
            self.meta_event(&format!("{prefix}.on_{leave}"), pair.clone());
            if changed {
                self.meta_event(&format!("{prefix}.on_delete"), pair);
            }
        }
    }

    /// Tells `session` that the router ended its registration or subscription `id`
    /// (UNREGISTERED or UNSUBSCRIBED with request 0), if it announced that it takes
    /// revocations; the spec's fallback for the others is to say nothing.
    pub(super) fn revoke(&self, session: Id, what: Revoked, id: Id, reason: &str) {
        let Some(peer) = self.sessions.get(&session) else {
            return;
        };
        let (announced, key) = match what {
            Revoked::Registration => (peer.features.registration_revocation, "registration"),
            Revoked::Subscription => (peer.features.subscription_revocation, "subscription"),
        };
        if !announced {
            return;
        }
        let mut details = Dict::new();
        details.insert(key.into(), Value::from(id));
        details.insert("reason".into(), Value::Str(reason.into()));
        let details = Some(details);
        let revoked = match what {
            Revoked::Registration => Message::Unregistered {
                request: 0,
                details,
            },
            Revoked::Subscription => Message::Unsubscribed {
                request: 0,
                details,
            },
        };
        peer.outbox.push(session, revoked);
    }

    /// `wamp.registration.remove_callee(registration, callee, reason?)` (Crossbar.io's
    /// meta procedure): takes a registration from one of its callees.
    pub(super) fn remove_callee(&mut self, args: &List, kwargs: &Dict) -> MetaResult {
        let (registration, callee, reason) = removal_args(
            args,
            kwargs,
            ["registration", "callee"],
            "wamp.error.unregistered",
        )?;
        if !self.sessions.contains_key(&callee) {
            return Err((error::NO_SUCH_SESSION, "no such session".into()));
        }
        let pattern = self
            .routing
            .registrations()
            .get(registration)
            .map(|r| (r.procedure.clone(), r.policy));
        let Some(change) = self.routing.unregister(callee, registration) else {
            let text = "no such registration of that session";
            return Err((error::NO_SUCH_REGISTRATION, text.into()));
        };
        if let (Some(link), Some((procedure, policy))) = (self.routing.link(), pattern) {
            link.unregistered(&procedure, policy, callee);
        }
        self.revoke(callee, Revoked::Registration, registration, &reason);
        self.registration_events(callee, change, false);
        tracing::info!(registration, callee, reason, "callee removed");
        Ok(List::new())
    }

    /// `wamp.subscription.remove_subscriber(subscription, subscriber, reason?)`
    /// (Crossbar.io's meta procedure): ends one session's subscription.
    pub(super) fn remove_subscriber(&mut self, args: &List, kwargs: &Dict) -> MetaResult {
        let (subscription, subscriber, reason) = removal_args(
            args,
            kwargs,
            ["subscription", "subscriber"],
            "wamp.error.unsubscribed",
        )?;
        if !self.sessions.contains_key(&subscriber) {
            return Err((error::NO_SUCH_SESSION, "no such session".into()));
        }
        let Some(change) = self.routing.unsubscribe(subscriber, subscription) else {
            let text = "no such subscription of that session";
            return Err((error::NO_SUCH_SUBSCRIPTION, text.into()));
        };
        self.revoke(subscriber, Revoked::Subscription, subscription, &reason);
        self.subscription_events(subscriber, change, false);
        tracing::info!(subscription, subscriber, reason, "subscriber removed");
        Ok(List::new())
    }

    /// Answers a meta procedure call; `None` if `procedure` is none.
    pub(super) fn meta_call(
        &mut self,
        session: Id,
        procedure: &str,
        payload: &Payload,
    ) -> Option<MetaResult> {
        let (args, kwargs) = arguments(payload).unwrap_or_default();
        let no_session = || (error::NO_SUCH_SESSION, "no such session".to_owned());
        Some(match procedure {
            "wamp.session.count" | "wamp.session.list" => {
                let roles = authrole_filter(&args);
                let mut ids: Vec<Id> = self
                    .sessions
                    .iter()
                    .filter(|(_, p)| roles.as_ref().is_none_or(|r| r.contains(&p.authrole)))
                    .map(|(id, _)| *id)
                    .collect();
                if procedure == "wamp.session.count" {
                    Ok(vec![Value::from(ids.len() as u64)])
                } else {
                    ids.sort_unstable();
                    Ok(vec![Value::List(
                        ids.into_iter().map(Value::from).collect(),
                    )])
                }
            }
            "wamp.session.get" => match args.first().and_then(Value::as_u64) {
                Some(id) => self
                    .session_info(id)
                    .map(|i| vec![Value::Dict(i.details())])
                    .ok_or_else(no_session),
                None => Err((error::INVALID_ARGUMENT, "the session ID is missing".into())),
            },
            "wamp.session.kill" => match args.first().and_then(Value::as_u64) {
                // The caller is no *other* session with that ID.
                Some(id) if id != session && self.sessions.contains_key(&id) => {
                    self.kill(&[id], &kwargs).map(|_| List::new())
                }
                Some(_) => Err(no_session()),
                None => Err((error::INVALID_ARGUMENT, "the session ID is missing".into())),
            },
            "wamp.session.kill_by_authid" | "wamp.session.kill_by_authrole" => {
                let by_role = procedure.ends_with("authrole");
                match args.first().and_then(Value::as_str) {
                    Some(wanted) => {
                        let ids: Vec<Id> = self
                            .sessions
                            .iter()
                            .filter(|(id, p)| {
                                **id != session
                                    && if by_role {
                                        p.authrole == wanted
                                    } else {
                                        p.authid == wanted
                                    }
                            })
                            .map(|(id, _)| *id)
                            .collect();
                        self.kill(&ids, &kwargs).map(id_list)
                    }
                    None => {
                        let what = if by_role { "authrole" } else { "authid" };
                        Err((error::INVALID_ARGUMENT, format!("the {what} is missing")))
                    }
                }
            }
            "wamp.session.kill_all" => {
                let ids: Vec<Id> = self
                    .sessions
                    .keys()
                    .copied()
                    .filter(|id| *id != session)
                    .collect();
                self.kill(&ids, &kwargs).map(id_list)
            }
            p if p.starts_with("wamp.reflect") => {
                return self.reflection_call(session, p, &args, &kwargs)
            }
            "wamp.registration.remove_callee" => self.remove_callee(&args, &kwargs),
            "wamp.subscription.remove_subscriber" => self.remove_subscriber(&args, &kwargs),
            other => {
                let (broker, dealer) = (self.routing.subscriptions(), self.routing.registrations());
                return call(other, &args, &kwargs, broker, dealer);
            }
        })
    }

    /// Ends `sessions` from the router's side (the `wamp.session.kill*` procedures): each
    /// gets GOODBYE with the `reason` keyword argument (default `wamp.close.killed`, as
    /// the spec says) and the `message` in its details. The IDs of the sessions ended,
    /// which `kill_by_authid`, `kill_by_authrole` and `kill_all` answer (as Crossbar.io).
    pub(super) fn kill(
        &mut self,
        sessions: &[Id],
        kwargs: &Dict,
    ) -> Result<Vec<Id>, (&'static str, String)> {
        let reason = match kwargs.get("reason") {
            None | Some(Value::Null) => wamp_runtime::proto::close::KILLED.to_owned(),
            Some(Value::Str(r)) if wamp_runtime::proto::is_valid_uri(r, UriRule::Loose) => {
                r.clone()
            }
            Some(other) => {
                let text = format!("the reason {other:?} is not a valid URI");
                return Err((error::INVALID_URI, text));
            }
        };
        let mut details = Dict::new();
        if let Some(m) = kwargs.get("message").and_then(Value::as_str) {
            details.insert("message".into(), Value::Str(m.to_owned()));
        }
        let mut killed = Vec::new();
        for &id in sessions {
            if let Some(peer) = self.sessions.get(&id) {
                let goodbye = Message::Goodbye {
                    details: details.clone(),
                    reason: reason.clone(),
                };
                peer.outbox.push(id, goodbye);
                peer.outbox.kill();
            }
            if self.remove_session(id) {
                killed.push(id);
            }
        }
        Ok(killed)
    }
}

/// The arguments of `remove_callee` and `remove_subscriber`: the registration or
/// subscription ID, the session ID (`what` and `who` name them in errors), and the reason
/// (positional or `reason=`, a URI; `default_reason` when none is given).
fn removal_args(
    args: &List,
    kwargs: &Dict,
    [what, who]: [&str; 2],
    default_reason: &str,
) -> Result<(Id, Id, String), (&'static str, String)> {
    let id = |i: usize, name: &str| {
        args.get(i)
            .and_then(Value::as_u64)
            .ok_or_else(|| (error::INVALID_ARGUMENT, format!("the {name} ID is missing")))
    };
    let (object, session) = (id(0, what)?, id(1, who)?);
    let reason = match args.get(2).or_else(|| kwargs.get("reason")) {
        None | Some(Value::Null) => default_reason.to_owned(),
        Some(Value::Str(r)) if wamp_runtime::proto::is_valid_uri(r, UriRule::Loose) => r.clone(),
        Some(other) => {
            let text = format!("the reason {other:?} is not a valid URI");
            return Err((error::INVALID_URI, text));
        }
    };
    Ok((object, session, reason))
}

/// A list of session IDs as a meta procedure's single result.
fn id_list(mut ids: Vec<Id>) -> List {
    ids.sort_unstable();
    vec![Value::List(ids.into_iter().map(Value::from).collect())]
}
