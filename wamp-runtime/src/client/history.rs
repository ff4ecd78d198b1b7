//! Reading a router's event history (Advanced Profile, "Event History"):
//! `wamp.subscription.get_events` on a subscription whose events the router keeps, with the
//! spec's bounds, each event read as `T`.
//!
//! ```no_run
//! # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
//! use wamp_runtime::MatchPolicy;
//! // The last ten events published to `com.example.log`, newest first.
//! let last = session
//!     .topic_history::<(String,)>("com.example.log", MatchPolicy::Exact)
//!     .reverse()
//!     .limit(10)
//!     .await?;
//! for e in last {
//!     println!("{} {}", e.timestamp, e.data.0);
//! }
//! # Ok(()) }
//! ```

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::time::SystemTime;

use super::error::Error;
use super::{Args, EventDetails, FromArgs, Session};
use crate::proto::{Dict, Id, MatchPolicy, Value, ValueError};
use crate::transport::BoxFuture;

/// One event of the history, read as `T`.
#[derive(Debug, Clone)]
pub struct HistoryEvent<T> {
    /// The event's arguments, read as `T`.
    pub data: T,
    /// The topic it was published to.
    pub topic: String,
    /// When the router received it (RFC 3339), as the router said.
    pub timestamp: String,
    /// Its subscription, publication and original details.
    pub details: EventDetails,
}

/// Which subscription a query reads.
#[derive(Debug, Clone)]
enum Target {
    Subscription(Id),
    /// Looked up first (`wamp.subscription.lookup`).
    Topic(String, MatchPolicy),
}

/// A query of the event history about to be made; `.await` it for the events (in the
/// order they were published, unless [`reverse`](HistoryQuery::reverse)).
#[must_use = "a query does nothing until it is awaited"]
pub struct HistoryQuery<T> {
    session: Session,
    target: Target,
    kwargs: Dict,
    _event: PhantomData<fn() -> T>,
}

fn rfc3339(at: SystemTime) -> Value {
    let t = time::OffsetDateTime::from(at);
    let text = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Value::Str(text)
}

impl<T: FromArgs + Send + 'static> HistoryQuery<T> {
    fn new(session: Session, target: Target) -> Self {
        Self {
            session,
            target,
            kwargs: Dict::new(),
            _event: PhantomData,
        }
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.kwargs.insert(key.into(), value);
        self
    }

    /// Newest first.
    pub fn reverse(self) -> Self {
        self.set("reverse", Value::Bool(true))
    }

    /// At most `events` events.
    pub fn limit(self, events: u64) -> Self {
        self.set("limit", Value::from(events))
    }

    /// Events received at `at` or later.
    pub fn from_time(self, at: SystemTime) -> Self {
        self.set("from_time", rfc3339(at))
    }

    /// Events received after `at`.
    pub fn after_time(self, at: SystemTime) -> Self {
        self.set("after_time", rfc3339(at))
    }

    /// Events received before `at`.
    pub fn before_time(self, at: SystemTime) -> Self {
        self.set("before_time", rfc3339(at))
    }

    /// Events received at `at` or earlier.
    pub fn until_time(self, at: SystemTime) -> Self {
        self.set("until_time", rfc3339(at))
    }

    /// Only events published to `topic` (for a pattern subscription).
    pub fn topic(self, topic: impl Into<String>) -> Self {
        self.set("topic", Value::Str(topic.into()))
    }

    /// Events from publication `id` on, itself included.
    pub fn from_publication(self, id: Id) -> Self {
        self.set("from_publication", Value::from(id))
    }

    /// Events after publication `id` (the next page, reading forwards).
    pub fn after_publication(self, id: Id) -> Self {
        self.set("after_publication", Value::from(id))
    }

    /// Events before publication `id` (the next page, reading in reverse).
    pub fn before_publication(self, id: Id) -> Self {
        self.set("before_publication", Value::from(id))
    }

    /// Events up to publication `id`, itself included.
    pub fn until_publication(self, id: Id) -> Self {
        self.set("until_publication", Value::from(id))
    }

    async fn run(self) -> Result<Vec<HistoryEvent<T>>, Error> {
        let id = match self.target {
            Target::Subscription(id) => id,
            Target::Topic(topic, policy) => {
                let mut options = Dict::new();
                options.insert("match".into(), Value::Str(policy.as_str().into()));
                let found: Option<Id> = self
                    .session
                    .call("wamp.subscription.lookup", (topic.clone(), options))
                    .await?;
                found.ok_or_else(|| {
                    Error::Invalid(format!(
                        "the router has no subscription to {topic:?} ({}): no history",
                        policy.as_str()
                    ))
                })?
            }
        };
        let events: Vec<Value> = self
            .session
            .call("wamp.subscription.get_events", (id,))
            .kwargs(self.kwargs)
            .await?;
        events
            .into_iter()
            .map(|e| read_event(id, e).map_err(Error::Deserialize))
            .collect()
    }
}

/// One event as `get_events` gives it: the spec's `{timestamp, subscription, publication,
/// details, args, kwargs}` (our router adds `topic`; Crossbar.io gives `time_ns` and
/// `topic` instead of `timestamp` and `details`).
fn read_event<T: FromArgs>(subscription: Id, e: Value) -> Result<HistoryEvent<T>, ValueError> {
    let Value::Dict(mut e) = e else {
        return Err(ValueError("a history event is not a dict".into()));
    };
    let publication = e
        .get("publication")
        .and_then(Value::as_u64)
        .ok_or_else(|| ValueError("a history event without its publication ID".into()))?;
    let details = match e.shift_remove("details") {
        Some(Value::Dict(d)) => d,
        _ => Dict::new(),
    };
    let topic = e
        .get("topic")
        .or_else(|| details.get("topic"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let timestamp = match (e.get("timestamp"), e.get("time_ns").and_then(Value::as_u64)) {
        (Some(Value::Str(t)), _) => t.clone(),
        (_, Some(ns)) => {
            match rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(ns)) {
                Value::Str(t) => t,
                _ => String::new(),
            }
        }
        _ => String::new(),
    };
    let args = Args {
        args: match e.shift_remove("args") {
            Some(Value::List(l)) => l,
            _ => Vec::new(),
        },
        kwargs: match e.shift_remove("kwargs") {
            Some(Value::Dict(d)) => d,
            _ => Dict::new(),
        },
        passthru: Default::default(),
    };
    let subscription = e
        .get("subscription")
        .and_then(Value::as_u64)
        .unwrap_or(subscription);
    Ok(HistoryEvent {
        data: T::from_args(args)?,
        topic,
        timestamp,
        details: EventDetails::new(subscription, publication, details),
    })
}

impl<T: FromArgs + Send + 'static> IntoFuture for HistoryQuery<T> {
    type Output = Result<Vec<HistoryEvent<T>>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl Session {
    /// The events the router kept for subscription `subscription`, read as `T`
    /// (`wamp.subscription.get_events`).
    pub fn event_history<T: FromArgs + Send + 'static>(&self, subscription: Id) -> HistoryQuery<T> {
        HistoryQuery::new(self.clone(), Target::Subscription(subscription))
    }

    /// The events the router kept for the subscription to `topic` under `policy` (looked
    /// up first: a router that keeps a history holds the subscription), read as `T`.
    pub fn topic_history<T: FromArgs + Send + 'static>(
        &self,
        topic: impl Into<String>,
        policy: MatchPolicy,
    ) -> HistoryQuery<T> {
        HistoryQuery::new(self.clone(), Target::Topic(topic.into(), policy))
    }
}

impl<T: FromArgs + Send + 'static> super::Subscription<T> {
    /// The events the router kept for this subscription, read as `T`.
    pub fn history(&self) -> HistoryQuery<T> {
        self.session.event_history(self.id())
    }
}
