//! Typed topics: what `#[topic]` generates code against.
//!
//! A topic type knows its URI pattern (`com.example.sensor.{room}.temperature`), fills the
//! placeholders from its own fields to publish, and reads them back from the topic of an
//! event received on a pattern subscription, as its `Key` type.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::{Error, EventDetails, Publish, Session, Subscription};
use crate::proto::{MatchPolicy, ValueError};
use crate::transport::BoxFuture;

/// A type whose values are published to, and received from, a topic of its own: derived
/// by `#[topic("com.example.{placeholder}.name")]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a topic",
    label = "a service's `topics(...)` names topic types",
    note = "make it one: `#[topic(\"com.example.name\")]` above its derives"
)]
pub trait Topic: Serialize + DeserializeOwned + Send + 'static {
    /// The placeholders of the topic, each open (`None`) or fixed.
    type Key: Clone + Send + Unpin + 'static;
    /// The topic URI with its `{placeholders}`.
    const PATTERN: &'static str;

    /// The concrete topic of this value, placeholders filled in from its fields.
    fn topic(&self) -> Result<String, ValueError>;

    /// The topic (or wildcard pattern, if any placeholder is open) to subscribe to.
    fn subscription(key: &Self::Key) -> Result<(String, MatchPolicy), ValueError>;

    /// The placeholders read back from a concrete topic.
    fn key_of(topic: &str) -> Result<Self::Key, ValueError>;

    /// The topic for its interface description (by default its URI only, the payload
    /// any value).
    fn describe(generator: &mut schemars::SchemaGenerator) -> crate::interface::Topic {
        let _ = generator;
        crate::interface::bare_topic::<Self>(Self::PATTERN)
    }
}

/// A value that can fill a topic placeholder: it is written as one URI component (no
/// `.`, `#` or whitespace, not empty) and read back from one. Implemented for strings,
/// integers, `bool` and `char`; implement it for your own types (an enum of rooms…).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot fill a topic placeholder",
    label = "a placeholder's field is written as one URI component",
    note = "use a String or an integer, or implement `wamp_runtime::TopicComponent` for `{Self}`"
)]
pub trait TopicComponent: Sized + Clone {
    /// The component text.
    fn to_component(&self) -> String;
    /// The value read back from a component.
    fn from_component(component: &str) -> Option<Self>;
}

impl TopicComponent for String {
    fn to_component(&self) -> String {
        self.clone()
    }
    fn from_component(component: &str) -> Option<Self> {
        Some(component.to_owned())
    }
}

macro_rules! parsed_components {
    ($($t:ty),*) => {$(
        impl TopicComponent for $t {
            fn to_component(&self) -> String {
                self.to_string()
            }
            fn from_component(component: &str) -> Option<Self> {
                component.parse().ok()
            }
        }
    )*};
}

parsed_components!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char);

/// Writes placeholder `name` of a topic, checking it is one URI component.
#[doc(hidden)]
pub fn component<T: TopicComponent>(value: &T, name: &str) -> Result<String, ValueError> {
    let c = value.to_component();
    if !is_component(&c) {
        return Err(ValueError(format!(
            "placeholder {{{name}}} = {c:?} is not one URI component (empty, or with '.', '#' or whitespace)"
        )));
    }
    Ok(c)
}

/// Whether `c` is one URI component: not empty, without '.', '#' or whitespace.
pub(crate) fn is_component(c: &str) -> bool {
    !c.is_empty()
        && !c
            .chars()
            .any(|ch| ch == '.' || ch == '#' || ch.is_whitespace())
}

/// Reads placeholder `name` from a topic component.
#[doc(hidden)]
pub fn parse_component<T: TopicComponent>(c: &str, name: &str) -> Result<T, ValueError> {
    T::from_component(c)
        .ok_or_else(|| ValueError(format!("placeholder {{{name}}}: cannot read {c:?}")))
}

/// Publishes a topic value (what the generated `publish` calls).
#[doc(hidden)]
pub fn publish_topic<T: Topic>(value: &T, session: &Session) -> Publish {
    match value.topic() {
        Ok(topic) => session.publish(topic, value),
        Err(e) => Publish::failed(session.clone(), T::PATTERN.to_owned(), e),
    }
}

/// A typed subscription about to be made; `.await` it for the [`TopicSubscription`].
#[must_use = "a subscription does nothing until it is awaited"]
pub struct TopicSubscribe<T: Topic> {
    session: Session,
    key: T::Key,
    buffer: Option<usize>,
    get_retained: bool,
    options: Vec<(String, crate::proto::Value)>,
}

impl<T: Topic> TopicSubscribe<T> {
    #[doc(hidden)]
    pub fn new(session: &Session, key: T::Key) -> Self {
        Self {
            session: session.clone(),
            key,
            buffer: None,
            get_retained: false,
            options: Vec::new(),
        }
    }

    /// How many unread events to buffer (see [`crate::Subscribe::buffer`]).
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = Some(events);
        self
    }

    /// Asks for the retained events the subscription matches, first (see
    /// [`crate::Subscribe::get_retained`]).
    pub fn get_retained(mut self) -> Self {
        self.get_retained = true;
        self
    }

    /// Sets a SUBSCRIBE option (see the WAMP spec). The match policy is the key's: exact
    /// when every placeholder is fixed, wildcard when one is open.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<crate::proto::Value>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }
}

impl<T: Topic> IntoFuture for TopicSubscribe<T> {
    type Output = Result<TopicSubscription<T>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (topic, policy) = T::subscription(&self.key).map_err(Error::Serialize)?;
            let mut sub = self.session.subscribe::<T>(topic).match_policy(policy);
            if let Some(n) = self.buffer {
                sub = sub.buffer(n);
            }
            if self.get_retained {
                sub = sub.get_retained();
            }
            for (k, v) in self.options {
                sub = sub.option(k, v);
            }
            Ok(TopicSubscription {
                inner: sub.await?,
                key: self.key,
                _topic: PhantomData,
            })
        })
    }
}

/// One event of a typed topic.
#[derive(Debug, Clone)]
pub struct TopicEvent<T: Topic> {
    /// The value published.
    pub data: T,
    /// The placeholders of the topic it was published to.
    pub key: T::Key,
    /// Where it comes from.
    pub details: EventDetails,
}

/// A stream of a typed topic's events. Items are errors for events that do not read as
/// `T` (or whose topic does not fit the pattern); the stream goes on after them. See
/// [`Subscription`] for buffering, unsubscribing and the end of the stream.
pub struct TopicSubscription<T: Topic> {
    inner: Subscription<T>,
    key: T::Key,
    _topic: PhantomData<fn() -> T>,
}

impl<T: Topic> TopicSubscription<T> {
    /// How many events were dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped()
    }

    /// The topic or pattern subscribed to.
    pub fn topic(&self) -> &str {
        self.inner.topic()
    }

    /// Unsubscribes and waits for the router to confirm.
    pub async fn unsubscribe(self) -> Result<(), Error> {
        self.inner.unsubscribe().await
    }

    /// The events the router kept for this subscription (its event history), each read
    /// as the topic's type; `T::key_of(&event.topic)` gives an event's placeholders.
    pub fn history(&self) -> crate::HistoryQuery<T> {
        self.inner.history()
    }
}

impl<T: Topic> Stream for TopicSubscription<T> {
    type Item = Result<TopicEvent<T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => {
                let key = match &event.details.topic {
                    Some(topic) => T::key_of(topic),
                    None => Ok(this.key.clone()),
                };
                Poll::Ready(Some(match key {
                    Ok(key) => Ok(TopicEvent {
                        data: event.data,
                        key,
                        details: event.details,
                    }),
                    Err(e) => Err(Error::Deserialize(e)),
                }))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
