//! Publishing: the [`Publish`] builder.

use std::future::IntoFuture;

use tokio::sync::oneshot;

use super::error::application_error;
use super::error::Error;
use super::in_flight::Pending;
use super::outgoing::Outgoing;
use super::Session;
use crate::proto::{is_valid_uri, Dict, Id, Message, UriRule, Value, ValueError};
use crate::transport::BoxFuture;

/// A publication about to be made; `.await` it to send it.
///
/// By default it is fire-and-forget: awaiting returns once the message is queued for the
/// router. With [`acknowledge`](Publish::acknowledge), awaiting waits for the router's
/// PUBLISHED, or fails with its ERROR.
#[must_use = "a publication does nothing until it is awaited"]
pub struct Publish {
    session: Session,
    topic: String,
    args: Result<Outgoing, ValueError>,
    options: Dict,
}

impl Publish {
    pub(crate) fn new(session: Session, topic: String, args: Result<Outgoing, ValueError>) -> Self {
        Self {
            session,
            topic,
            args,
            options: Dict::new(),
        }
    }

    /// A publication that fails with `error` when awaited (a topic that could not be made).
    pub(crate) fn failed(session: Session, topic: String, error: ValueError) -> Self {
        Self::new(session, topic, Err(error))
    }

    /// Keyword arguments: a struct or a map.
    pub fn kwargs(mut self, kwargs: impl serde::Serialize) -> Self {
        let wire = self.session.shared.config.wire;
        self.args = self.args.and_then(|a| a.with_kwargs(kwargs, wire));
        self
    }

    /// Waits for the router to acknowledge the publication.
    pub fn acknowledge(self) -> Self {
        self.option("acknowledge", true)
    }

    /// Asks the router to keep this event as the topic's retained event, for subscribers
    /// that subscribe later with [`get_retained`](super::Subscribe::get_retained).
    pub fn retain(self) -> Self {
        self.option("retain", true)
    }

    /// Whether this session receives its own event when it is subscribed (default: no).
    pub fn exclude_me(self, exclude: bool) -> Self {
        self.option("exclude_me", exclude)
    }

    /// Sessions that must not receive the event.
    pub fn exclude(self, sessions: impl IntoIterator<Item = Id>) -> Self {
        let ids = sessions.into_iter().map(Value::from).collect::<Vec<_>>();
        self.option("exclude", ids)
    }

    /// The only sessions that may receive the event.
    pub fn eligible(self, sessions: impl IntoIterator<Item = Id>) -> Self {
        let ids = sessions.into_iter().map(Value::from).collect::<Vec<_>>();
        self.option("eligible", ids)
    }

    /// Sessions whose authid is one of these must not receive the event.
    pub fn exclude_authid<S: Into<String>>(self, authids: impl IntoIterator<Item = S>) -> Self {
        self.strings("exclude_authid", authids)
    }

    /// Sessions whose authrole is one of these must not receive the event.
    pub fn exclude_authrole<S: Into<String>>(self, roles: impl IntoIterator<Item = S>) -> Self {
        self.strings("exclude_authrole", roles)
    }

    /// Only sessions whose authid is one of these may receive the event.
    pub fn eligible_authid<S: Into<String>>(self, authids: impl IntoIterator<Item = S>) -> Self {
        self.strings("eligible_authid", authids)
    }

    /// Only sessions whose authrole is one of these may receive the event.
    pub fn eligible_authrole<S: Into<String>>(self, roles: impl IntoIterator<Item = S>) -> Self {
        self.strings("eligible_authrole", roles)
    }

    /// Asks the router to tell subscribers who published (`disclose_me`).
    pub fn disclose_me(self) -> Self {
        self.option("disclose_me", true)
    }

    /// Sets option `key` to a list of strings.
    fn strings<S: Into<String>>(self, key: &str, items: impl IntoIterator<Item = S>) -> Self {
        let list = items
            .into_iter()
            .map(|s| Value::Str(s.into()))
            .collect::<Vec<_>>();
        self.option(key, list)
    }

    /// Sets a PUBLISH option (see the WAMP spec: `disclose_me`, `retain`…).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The topic, arguments and options, for a testament.
    pub(super) fn into_parts(self) -> (Session, String, Result<Outgoing, ValueError>, Dict) {
        (self.session, self.topic, self.args, self.options)
    }

    async fn run(self) -> Result<(), Error> {
        let Publish {
            session,
            topic,
            args,
            mut options,
        } = self;
        let args = args.map_err(Error::Serialize)?;
        args.apply(&mut options);
        if !is_valid_uri(&topic, UriRule::Loose) {
            return Err(Error::Invalid(format!("invalid topic URI {topic:?}")));
        }
        let shared = &session.shared;
        let acknowledge = options.get("acknowledge").and_then(Value::as_bool) == Some(true);
        let payload = args.payload;
        let build = |request| Message::Publish {
            request,
            options,
            topic,
            payload,
        };
        if !acknowledge {
            // Nothing answers it: only its request ID is drawn, once the session takes
            // requests.
            let (generation, request) = shared.enter(None).await?;
            return shared.send_in(generation, build(request)).await;
        }
        let (tx, rx) = oneshot::channel();
        let timeout = shared.config.request_timeout;
        match shared
            .roundtrip(Pending::Reply(tx), build, rx, timeout)
            .await?
        {
            Message::Published { .. } => Ok(()),
            Message::Error { error, payload, .. } => Err(application_error(error, &payload)),
            other => Err(Error::Protocol(format!(
                "{} answers a PUBLISH",
                other.name()
            ))),
        }
    }
}

impl IntoFuture for Publish {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'static, Result<(), Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
