//! Typed access to the WAMP meta API of a router (`wamp.session.*`, `wamp.registration.*`,
//! `wamp.subscription.*`): what sessions are joined, what is registered and subscribed,
//! and events when that changes.

use serde::{Deserialize, Serialize};

use super::{Error, Session, Subscribe};
use crate::proto::{Dict, Id, MatchPolicy};

/// A session as the meta API describes it (`wamp.session.get`, `wamp.session.on_join`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetails {
    /// The session ID.
    pub session: Id,
    /// Its authentication ID.
    #[serde(default)]
    pub authid: Option<String>,
    /// Its authentication role.
    #[serde(default)]
    pub authrole: Option<String>,
    /// How it authenticated.
    #[serde(default)]
    pub authmethod: Option<String>,
    /// Who authenticated it.
    #[serde(default)]
    pub authprovider: Option<String>,
    /// Its transport, as the router describes it.
    #[serde(default)]
    pub transport: Option<Dict>,
}

/// IDs by match policy (`wamp.registration.list`, `wamp.subscription.list`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdsByPolicy {
    /// Exact-match IDs.
    #[serde(default)]
    pub exact: Vec<Id>,
    /// Prefix-match IDs.
    #[serde(default)]
    pub prefix: Vec<Id>,
    /// Wildcard-match IDs.
    #[serde(default)]
    pub wildcard: Vec<Id>,
}

/// A registration or subscription as the meta API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaDetails {
    /// Its ID.
    pub id: Id,
    /// When it was created (ISO 8601).
    #[serde(default)]
    pub created: Option<String>,
    /// Its URI or pattern.
    pub uri: String,
    /// Its match policy: `exact`, `prefix` or `wildcard`.
    #[serde(rename = "match")]
    pub match_policy: String,
    /// Its invocation policy (registrations only).
    #[serde(default)]
    pub invoke: Option<String>,
}

/// The meta API of the router a session is joined to.
///
/// ```no_run
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// use wamp_runtime::client::meta::Meta;
/// let meta = Meta::new(session);
/// for id in meta.session_list(None).await? {
///     println!("{:?}", meta.session_get(id).await?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Meta {
    session: Session,
}

impl Meta {
    /// The meta API through `session`.
    pub fn new(session: Session) -> Self {
        Self { session }
    }

    /// How many sessions are joined (of these authroles only, when given).
    pub async fn session_count(&self, authroles: Option<&[&str]>) -> Result<u64, Error> {
        match authroles {
            Some(r) => self.session.call("wamp.session.count", (r,)).await,
            None => self.session.call("wamp.session.count", ()).await,
        }
    }

    /// The joined sessions (of these authroles only, when given).
    pub async fn session_list(&self, authroles: Option<&[&str]>) -> Result<Vec<Id>, Error> {
        match authroles {
            Some(r) => self.session.call("wamp.session.list", (r,)).await,
            None => self.session.call("wamp.session.list", ()).await,
        }
    }

    /// One session's details (`wamp.error.no_such_session` if it is not joined).
    pub async fn session_get(&self, id: Id) -> Result<SessionDetails, Error> {
        self.session.call("wamp.session.get", (id,)).await
    }

    /// Ends another session: it receives GOODBYE with `reason` (default
    /// `wamp.close.normal`) and `message`. Naming this session is
    /// `wamp.error.no_such_session`.
    pub async fn session_kill(
        &self,
        id: Id,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<(), Error> {
        self.session
            .call("wamp.session.kill", (id,))
            .kwargs(kill_kwargs(reason, message))
            .await
    }

    /// Ends every other session with `authid`, as [`session_kill`](Self::session_kill)
    /// does: the sessions ended.
    pub async fn session_kill_by_authid(
        &self,
        authid: &str,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<Killed, Error> {
        let call = self.session.call("wamp.session.kill_by_authid", (authid,));
        call.kwargs(kill_kwargs(reason, message)).await
    }

    /// Ends every other session with `authrole`: how many (the spec's answer; Crossbar.io
    /// answers the list).
    pub async fn session_kill_by_authrole(
        &self,
        authrole: &str,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<Killed, Error> {
        let call = self
            .session
            .call("wamp.session.kill_by_authrole", (authrole,));
        call.kwargs(kill_kwargs(reason, message)).await
    }

    /// Ends every other session of the realm: how many (Crossbar.io has no `kill_all`).
    pub async fn session_kill_all(
        &self,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<Killed, Error> {
        let call = self.session.call("wamp.session.kill_all", ());
        call.kwargs(kill_kwargs(reason, message)).await
    }

    /// Takes registration `registration` away from session `callee` (Crossbar.io's
    /// `wamp.registration.remove_callee`); the callee is told with `reason`
    /// (`wamp.error.unregistered` by default) if it announced registration revocation.
    pub async fn registration_remove_callee(
        &self,
        registration: Id,
        callee: Id,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let mut kwargs = Dict::new();
        if let Some(r) = reason {
            kwargs.insert("reason".into(), r.into());
        }
        let call = self
            .session
            .call("wamp.registration.remove_callee", (registration, callee));
        call.kwargs(kwargs).await
    }

    /// Ends session `subscriber`'s subscription `subscription` (Crossbar.io's
    /// `wamp.subscription.remove_subscriber`); the subscriber is told with `reason`
    /// (`wamp.error.unsubscribed` by default) if it announced subscription revocation.
    pub async fn subscription_remove_subscriber(
        &self,
        subscription: Id,
        subscriber: Id,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let mut kwargs = Dict::new();
        if let Some(r) = reason {
            kwargs.insert("reason".into(), r.into());
        }
        let call = self.session.call(
            "wamp.subscription.remove_subscriber",
            (subscription, subscriber),
        );
        call.kwargs(kwargs).await
    }

    /// Every registration, by match policy.
    pub async fn registration_list(&self) -> Result<IdsByPolicy, Error> {
        self.session.call("wamp.registration.list", ()).await
    }

    /// The registration of `procedure` under `policy`, if there is one.
    pub async fn registration_lookup(
        &self,
        procedure: &str,
        policy: MatchPolicy,
    ) -> Result<Option<Id>, Error> {
        let options = crate::dict! { "match" => policy.as_str() };
        self.session
            .call("wamp.registration.lookup", (procedure, options))
            .await
    }

    /// The registration a call to `procedure` would go to, if any.
    pub async fn registration_match(&self, procedure: &str) -> Result<Option<Id>, Error> {
        self.session
            .call("wamp.registration.match", (procedure,))
            .await
    }

    /// One registration's details.
    pub async fn registration_get(&self, id: Id) -> Result<MetaDetails, Error> {
        self.session.call("wamp.registration.get", (id,)).await
    }

    /// The sessions serving a registration.
    pub async fn registration_callees(&self, id: Id) -> Result<Vec<Id>, Error> {
        self.session
            .call("wamp.registration.list_callees", (id,))
            .await
    }

    /// How many sessions serve a registration.
    pub async fn registration_callee_count(&self, id: Id) -> Result<u64, Error> {
        self.session
            .call("wamp.registration.count_callees", (id,))
            .await
    }

    /// Every subscription, by match policy.
    pub async fn subscription_list(&self) -> Result<IdsByPolicy, Error> {
        self.session.call("wamp.subscription.list", ()).await
    }

    /// The subscription to `topic` under `policy`, if there is one.
    pub async fn subscription_lookup(
        &self,
        topic: &str,
        policy: MatchPolicy,
    ) -> Result<Option<Id>, Error> {
        let options = crate::dict! { "match" => policy.as_str() };
        self.session
            .call("wamp.subscription.lookup", (topic, options))
            .await
    }

    /// The subscriptions an event published to `topic` would reach.
    pub async fn subscription_match(&self, topic: &str) -> Result<Vec<Id>, Error> {
        let ids: Option<Vec<Id>> = self
            .session
            .call("wamp.subscription.match", (topic,))
            .await?;
        Ok(ids.unwrap_or_default())
    }

    /// One subscription's details.
    pub async fn subscription_get(&self, id: Id) -> Result<MetaDetails, Error> {
        self.session.call("wamp.subscription.get", (id,)).await
    }

    /// The sessions subscribed to a subscription.
    pub async fn subscription_subscribers(&self, id: Id) -> Result<Vec<Id>, Error> {
        self.session
            .call("wamp.subscription.list_subscribers", (id,))
            .await
    }

    /// How many sessions a subscription has.
    pub async fn subscription_subscriber_count(&self, id: Id) -> Result<u64, Error> {
        self.session
            .call("wamp.subscription.count_subscribers", (id,))
            .await
    }

    /// Sessions joining: `wamp.session.on_join`.
    pub fn on_session_join(&self) -> Subscribe<(SessionDetails,)> {
        self.session.subscribe("wamp.session.on_join")
    }

    /// Sessions leaving: `wamp.session.on_leave` (session, authid, authrole).
    pub fn on_session_leave(&self) -> Subscribe<(Id, Option<String>, Option<String>)> {
        self.session.subscribe("wamp.session.on_leave")
    }

    /// Registrations created: `wamp.registration.on_create` (session, details).
    pub fn on_registration_create(&self) -> Subscribe<(Id, MetaDetails)> {
        self.session.subscribe("wamp.registration.on_create")
    }

    /// Callees added to registrations: `wamp.registration.on_register` (session, ID).
    pub fn on_register(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.registration.on_register")
    }

    /// Callees removed from registrations: `wamp.registration.on_unregister`.
    pub fn on_unregister(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.registration.on_unregister")
    }

    /// Registrations deleted: `wamp.registration.on_delete` (session, ID).
    pub fn on_registration_delete(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.registration.on_delete")
    }

    /// Subscriptions created: `wamp.subscription.on_create` (session, details).
    pub fn on_subscription_create(&self) -> Subscribe<(Id, MetaDetails)> {
        self.session.subscribe("wamp.subscription.on_create")
    }

    /// Subscribers added: `wamp.subscription.on_subscribe` (session, ID).
    pub fn on_subscribe(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.subscription.on_subscribe")
    }

    /// Subscribers removed: `wamp.subscription.on_unsubscribe` (session, ID).
    pub fn on_unsubscribe(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.subscription.on_unsubscribe")
    }

    /// Subscriptions deleted: `wamp.subscription.on_delete` (session, ID).
    pub fn on_subscription_delete(&self) -> Subscribe<(Id, Id)> {
        self.session.subscribe("wamp.subscription.on_delete")
    }
}

/// What a `wamp.session.kill_by_*` procedure answered: the sessions it ended, or only how
/// many. The spec has `kill_by_authid` answer the list and `kill_by_authrole` and
/// `kill_all` the count; Crossbar.io answers the list for both `kill_by_*`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Killed {
    /// The session IDs ended.
    Sessions(Vec<Id>),
    /// How many sessions were ended.
    Count(u64),
}

impl Killed {
    /// How many sessions were ended.
    pub fn count(&self) -> u64 {
        match self {
            Killed::Sessions(ids) => ids.len() as u64,
            Killed::Count(n) => *n,
        }
    }

    /// The sessions ended, when the router said which.
    pub fn sessions(&self) -> Option<&[Id]> {
        match self {
            Killed::Sessions(ids) => Some(ids),
            Killed::Count(_) => None,
        }
    }
}

/// The keyword arguments of the `wamp.session.kill*` procedures.
fn kill_kwargs(reason: Option<&str>, message: Option<&str>) -> Dict {
    let mut kwargs = Dict::new();
    if let Some(r) = reason {
        kwargs.insert("reason".into(), r.into());
    }
    if let Some(m) = message {
        kwargs.insert("message".into(), m.into());
    }
    kwargs
}
