//! Subscribing: the [`Subscribe`] builder, the [`Subscription`] stream of events, and the
//! delivery of each EVENT to the local subscribers of its subscription.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::oneshot;

use super::args::FromArgs;
use super::error::Error;
use super::event_queue::{event_queue, EventReceiver};
use super::holdings::{LocalSub, SubShared};
use super::in_flight::Pending;
use super::shared::Shared;
use super::Session;
use crate::proto::{
    is_valid_pattern, is_valid_uri, Dict, Id, MatchPolicy, Message, Payload, UriRule, Value,
};
use crate::transport::BoxFuture;

/// An event as the session received it: its payload is read as the subscriber's type by
/// the subscriber's task, when it takes the event.
#[derive(Debug, Clone)]
pub(crate) struct RawEvent {
    pub payload: Payload,
    pub details: EventDetails,
}

/// Where an event comes from: the EVENT's IDs and details.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails {
    /// The subscription it was delivered for.
    pub subscription: Id,
    /// The publication's ID.
    pub publication: Id,
    /// The publisher's session, when disclosed.
    pub publisher: Option<Id>,
    /// The topic published to: present for pattern subscriptions.
    pub topic: Option<String>,
    /// Whether this is a retained event delivered on subscribing.
    pub retained: bool,
    /// All of EVENT.Details as received.
    pub details: Dict,
}

impl EventDetails {
    pub(crate) fn new(subscription: Id, publication: Id, details: Dict) -> Self {
        if details.is_empty() {
            return Self {
                subscription,
                publication,
                publisher: None,
                topic: None,
                retained: false,
                details,
            };
        }
        Self {
            subscription,
            publication,
            publisher: details.get("publisher").and_then(Value::as_u64),
            topic: details
                .get("topic")
                .and_then(Value::as_str)
                .map(str::to_owned),
            retained: details.get("retained").and_then(Value::as_bool) == Some(true),
            details,
        }
    }
}

/// One event, read as `T`.
#[derive(Debug, Clone)]
pub struct Event<T> {
    /// The event's arguments, read as `T` (see [`FromArgs`]).
    pub data: T,
    /// Where it comes from.
    pub details: EventDetails,
}

/// A subscription about to be made; `.await` it for the [`Subscription`].
#[must_use = "a subscription does nothing until it is awaited"]
pub struct Subscribe<T> {
    session: Session,
    topic: String,
    options: Dict,
    policy: MatchPolicy,
    buffer: usize,
    _event: PhantomData<fn() -> T>,
}

impl<T> Subscribe<T> {
    pub(crate) fn new(session: Session, topic: String) -> Self {
        let buffer = session.shared.config.subscription_buffer;
        Self {
            session,
            topic,
            options: Dict::new(),
            policy: MatchPolicy::Exact,
            buffer,
            _event: PhantomData,
        }
    }

    /// How the topic matches publications: exact (default), prefix or wildcard.
    pub fn match_policy(mut self, policy: MatchPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many unread events this subscription buffers (default: the session's
    /// [`subscription_buffer`](super::SessionBuilder::subscription_buffer)).
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events.max(1);
        self
    }

    /// Asks for the topic's retained event (or, for a pattern, every matching topic's)
    /// right after subscribing; it arrives marked [`EventDetails::retained`].
    pub fn get_retained(self) -> Self {
        self.option("get_retained", true)
    }

    /// Sets a SUBSCRIBE option (see the WAMP spec).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    async fn run(self) -> Result<Subscription<T>, Error> {
        let Subscribe {
            session,
            topic,
            mut options,
            policy,
            buffer,
            ..
        } = self;
        let valid = match policy {
            MatchPolicy::Exact => is_valid_uri(&topic, UriRule::Loose),
            _ => is_valid_pattern(&topic, UriRule::Loose, policy),
        };
        if !valid {
            return Err(Error::Invalid(format!("invalid topic URI {topic:?}")));
        }
        if policy != MatchPolicy::Exact {
            options.insert("match".into(), Value::Str(policy.as_str().into()));
        }
        let shared = &session.shared;
        let (events_tx, events_rx) = event_queue(buffer);
        let sub = Arc::new(SubShared::default());
        let key = shared.next_local_key();
        let local = LocalSub {
            key,
            tx: events_tx,
            shared: sub.clone(),
            topic: topic.clone(),
            options: options.clone(),
        };
        let (tx, rx) = oneshot::channel();
        let pending = Pending::Subscribe {
            locals: vec![local],
            topic: topic.clone(),
            options: options.clone(),
            reply: Some(tx),
        };
        let build = |request| Message::Subscribe {
            request,
            options,
            topic: topic.clone(),
        };
        let timeout = shared.config.request_timeout;
        let id = shared.roundtrip(pending, build, rx, timeout).await?;
        Ok(Subscription {
            session: session.clone(),
            id,
            key,
            topic,
            events: events_rx,
            shared: sub,
            active: true,
            ended: false,
            _event: PhantomData,
        })
    }
}

impl<T: FromArgs + Send + 'static> IntoFuture for Subscribe<T> {
    type Output = Result<Subscription<T>, Error>;
    type IntoFuture = BoxFuture<'static, Result<Subscription<T>, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A subscription: a [`Stream`] of events read as `T`.
///
/// Each item is `Ok(event)`, or `Err(Error::Deserialize)` for an event whose arguments do
/// not fit `T` (the stream goes on). When the session ends (or the router ends the
/// subscription), the stream yields one `Err(Error::Closed)` saying why, then ends; when
/// the router revokes the subscription, that error is `Err(Error::Revoked)`. A
/// session with a reconnect policy subscribes again after a reconnection: the stream
/// goes on, without the events published while it was disconnected.
///
/// Events wait in a bounded buffer until read; when it is full, new events are dropped
/// and counted in [`dropped`](Subscription::dropped), so a slow consumer never holds up
/// the session. Dropping the subscription unsubscribes (without waiting);
/// [`unsubscribe`](Subscription::unsubscribe) waits for the router.
#[derive(Debug)]
pub struct Subscription<T> {
    pub(super) session: Session,
    id: Id,
    key: u64,
    topic: String,
    /// Boxed: an event is moved a few times on its way, a pointer is cheaper to move.
    events: EventReceiver,
    shared: Arc<SubShared>,
    active: bool,
    ended: bool,
    _event: PhantomData<fn() -> T>,
}

impl<T> Subscription<T> {
    /// The subscription ID the router gave (shared by every local subscription to the
    /// same topic and policy; a new one after a reconnection, the last one known while
    /// disconnected).
    pub fn id(&self) -> Id {
        self.session
            .shared
            .subscription_id(self.key)
            .unwrap_or(self.id)
    }

    /// The topic (or pattern) subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The router's reason, if it revoked this subscription (the stream then ends with
    /// [`Error::Revoked`]).
    pub fn revoked(&self) -> Option<String> {
        self.shared.revoked.borrow().clone()
    }

    /// How many events were dropped because this subscription's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Unsubscribes and waits for the router to confirm (at once if other local
    /// subscriptions still use the router's subscription).
    pub async fn unsubscribe(mut self) -> Result<(), Error> {
        self.active = false;
        let shared = &self.session.shared;
        let (tx, rx) = oneshot::channel();
        let release = shared.drop_local_sub(self.key, Some(tx));
        shared.release(release, rx).await
    }
}

impl<T: FromArgs> Stream for Subscription<T> {
    type Item = Result<Event<T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.events.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(raw)) => {
                let item = T::from_received(&raw.payload, &raw.details.details)
                    .map(|data| Event {
                        data,
                        details: raw.details,
                    })
                    .map_err(Error::Deserialize);
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.ended = true;
                this.active = false;
                if let Some(reason) = this.revoked() {
                    return Poll::Ready(Some(Err(Error::Revoked(reason))));
                }
                let reason = this.session.shared.close_reason();
                let reason = reason.or_else(|| this.shared.ended.lock().clone());
                let reason = reason.unwrap_or_else(|| "the subscription ended".into());
                Poll::Ready(Some(Err(Error::Closed(reason))))
            }
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if self.active {
            let release = self.session.shared.drop_local_sub(self.key, None);
            self.session.shared.release_soon(release);
        }
    }
}

/// Passes an event to every local subscriber of its subscription; one whose buffer is full
/// misses it (counted, and logged at powers of two).
pub(super) fn deliver(
    shared: &Shared,
    subscription: Id,
    publication: Id,
    details: Dict,
    payload: Payload,
) {
    let st = shared.state.lock();
    let Some(locals) = st.held.subscriptions.get(&subscription) else {
        return;
    };
    let mut event = Some(Box::new(RawEvent {
        payload,
        details: EventDetails::new(subscription, publication, details),
    }));
    for (i, local) in locals.iter().enumerate() {
        // The last local subscriber takes the event itself, the others a copy.
        let this = if i + 1 == locals.len() {
            event.take()
        } else {
            event.clone()
        };
        let Some(this) = this else { break };
        if !local.tx.offer(this) {
            let n = local.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    subscription,
                    dropped = n,
                    "subscriber too slow: events dropped"
                );
            }
        }
    }
}
