//! The event history of a realm (Advanced Profile, "Event History"): for each configured
//! topic or pattern, the last events published to it, within a count and an age; and the
//! queries `wamp.subscription.get_events` makes over them.
//!
//! It only stores and filters; the realm decides what is recorded and answers the calls.
//! Memory is bounded by each log's `limit` (and by the message size limit per event); what
//! is held is counted for the metrics.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{Dict, Id, List, Payload, PayloadValues, PublishOptions, Value};

/// How many events a log keeps unless told otherwise (as Crossbar.io).
pub const DEFAULT_LIMIT: usize = 100;

/// What a realm keeps the event history of: a topic, or a pattern of topics, with how
/// many of its events and for how long.
///
/// ```
/// use std::time::Duration;
/// use wamp_router::EventHistory;
/// use wamp_runtime::MatchPolicy;
///
/// let history = EventHistory::new("com.example.log.", MatchPolicy::Prefix)
///     .limit(1000)
///     .max_age(Duration::from_secs(3600));
/// # let _ = history;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHistory {
    pub(crate) uri: String,
    pub(crate) policy: MatchPolicy,
    pub(crate) limit: usize,
    pub(crate) max_age: Option<Duration>,
}

impl EventHistory {
    /// The history of the subscription to `uri` under `policy`, keeping the last 100
    /// events.
    pub fn new(uri: impl Into<String>, policy: MatchPolicy) -> Self {
        Self {
            uri: uri.into(),
            policy,
            limit: DEFAULT_LIMIT,
            max_age: None,
        }
    }

    /// Keeps at most `events` events (the oldest go first).
    pub fn limit(mut self, events: usize) -> Self {
        self.limit = events.max(1);
        self
    }

    /// Forgets events older than `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
}

/// One event kept.
#[derive(Debug)]
pub(crate) struct Stored {
    at: SystemTime,
    pub publication: Id,
    pub topic: String,
    /// What every EVENT of it carried (the publisher, when disclosed).
    identity: Dict,
    /// The publication's `eligible`/`exclude` by authid and authrole, applied to who asks.
    options: PublishOptions,
    payload: Payload,
    /// What it holds in memory, roughly.
    size: usize,
}

/// The events of one configured topic or pattern, oldest first.
#[derive(Debug)]
pub(crate) struct Log {
    config: EventHistory,
    events: VecDeque<Stored>,
    bytes: usize,
}

/// A realm's event history: its logs.
#[derive(Debug, Default)]
pub(crate) struct History {
    logs: Vec<Log>,
}

/// What [`History::record`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// Logs the event went into.
    pub logs: usize,
    /// Events that made room (the limit) or had aged out.
    pub evicted: usize,
}

/// A copy of `payload` that holds only its own bytes (not the frame it arrived in).
fn own(payload: &Payload) -> Payload {
    match payload.encoded_parts() {
        Some((serializer, args, kwargs)) => Payload::from_encoded(
            serializer,
            Bytes::copy_from_slice(args),
            kwargs.map(|k| Bytes::copy_from_slice(k)),
        ),
        None => payload.clone(),
    }
}

fn payload_size(payload: &Payload) -> usize {
    match payload.encoded_parts() {
        Some((_, args, kwargs)) => args.len() + kwargs.map_or(0, Bytes::len),
        // Decoded values (an in-process publisher): a rough figure.
        None => 64,
    }
}

impl History {
    /// The history of each of `configs`.
    pub fn new(configs: Vec<EventHistory>) -> Self {
        let logs = configs
            .into_iter()
            .map(|config| Log {
                config,
                events: VecDeque::new(),
                bytes: 0,
            })
            .collect();
        Self { logs }
    }

    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// The topics and patterns kept.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, MatchPolicy)> {
        self.logs
            .iter()
            .map(|l| (l.config.uri.as_str(), l.config.policy))
    }

    /// Keeps an event published to `topic` in every log whose pattern matches it. Events
    /// with an opaque payload, or sent to or kept from sessions by ID (`eligible`,
    /// `exclude`: session IDs mean nothing to a later reader), are not kept, as the spec
    /// asks.
    pub fn record(
        &mut self,
        topic: &str,
        publication: Id,
        identity: &Dict,
        options: &PublishOptions,
        passthru: bool,
        payload: &Payload,
    ) -> Recorded {
        let mut done = Recorded::default();
        if self.logs.is_empty()
            || passthru
            || options.eligible.is_some()
            || options.exclude.is_some()
        {
            return done;
        }
        let now = SystemTime::now();
        for log in &mut self.logs {
            if !uri::matches(&log.config.uri, log.config.policy, topic) {
                continue;
            }
            done.evicted += log.expire(now);
            let stored = Stored {
                at: now,
                publication,
                topic: topic.to_owned(),
                identity: identity.clone(),
                options: options.clone(),
                payload: own(payload),
                size: 128 + topic.len() + payload_size(payload),
            };
            log.bytes += stored.size;
            log.events.push_back(stored);
            while log.events.len() > log.config.limit {
                log.pop();
                done.evicted += 1;
            }
            done.logs += 1;
        }
        done
    }

    /// The log of the subscription to `(policy, topic)`, if one is kept.
    pub fn log_mut(&mut self, topic: &str, policy: MatchPolicy) -> Option<&mut Log> {
        self.logs
            .iter_mut()
            .find(|l| l.config.policy == policy && l.config.uri == topic)
    }

    /// Events and bytes held.
    pub fn usage(&self) -> (usize, usize) {
        self.logs
            .iter()
            .fold((0, 0), |(n, b), l| (n + l.events.len(), b + l.bytes))
    }
}

impl Log {
    fn pop(&mut self) {
        if let Some(old) = self.events.pop_front() {
            self.bytes -= old.size;
        }
    }

    /// Drops the events older than the log's `max_age`: how many.
    pub fn expire(&mut self, now: SystemTime) -> usize {
        let Some(age) = self.config.max_age else {
            return 0;
        };
        let mut n = 0;
        while let Some(first) = self.events.front() {
            let old = now.duration_since(first.at).is_ok_and(|d| d > age);
            if !old {
                break;
            }
            self.pop();
            n += 1;
        }
        n
    }

    /// The events `q` selects, in its order, that a session of `authid` and `authrole`
    /// may see.
    pub fn query(&self, q: &Query, authid: &str, authrole: &str) -> Result<Vec<&Stored>, String> {
        // The publication bounds are positions in the log (publication IDs are random).
        let position = |id: Id| {
            self.events
                .iter()
                .position(|e| e.publication == id)
                .ok_or_else(|| format!("publication {id} is not in the event history"))
        };
        let mut first = 0usize;
        let mut last = self.events.len();
        if let Some(id) = q.from_publication {
            first = first.max(position(id)?);
        }
        if let Some(id) = q.after_publication {
            first = first.max(position(id)? + 1);
        }
        if let Some(id) = q.before_publication {
            last = last.min(position(id)?);
        }
        if let Some(id) = q.until_publication {
            last = last.min(position(id)? + 1);
        }
        let window = self
            .events
            .iter()
            .enumerate()
            .filter(|(i, _)| *i >= first && *i < last)
            .map(|(_, e)| e)
            .filter(|e| q.admits_time(e.at))
            .filter(|e| q.topic.as_deref().is_none_or(|t| t == e.topic))
            .filter(|e| e.options.admits(0, authid, authrole));
        let limit = q.limit.unwrap_or(usize::MAX);
        Ok(if q.reverse {
            let mut all: Vec<&Stored> = window.collect();
            all.reverse();
            all.truncate(limit);
            all
        } else {
            window.take(limit).collect()
        })
    }
}

impl Stored {
    /// The event as `get_events` answers it: `timestamp` (RFC 3339), `subscription`,
    /// `publication`, `topic`, `details`, `args`, `kwargs`.
    pub fn to_value(&self, subscription: Id, pattern: bool) -> Value {
        let mut d = Dict::new();
        d.insert("timestamp".into(), Value::Str(rfc3339(self.at)));
        d.insert("subscription".into(), Value::from(subscription));
        d.insert("publication".into(), Value::from(self.publication));
        d.insert("topic".into(), Value::Str(self.topic.clone()));
        let mut details = self.identity.clone();
        if pattern {
            details.insert("topic".into(), Value::Str(self.topic.clone()));
        }
        d.insert("details".into(), Value::Dict(details));
        match self.payload.to_values() {
            Ok(PayloadValues::Args { args, kwargs }) => {
                d.insert("args".into(), Value::List(args));
                if let Some(k) = kwargs {
                    d.insert("kwargs".into(), Value::Dict(k));
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(
                    publication = self.publication,
                    "stored event unreadable: {e}"
                );
                d.insert("args".into(), Value::List(List::new()));
            }
        }
        Value::Dict(d)
    }
}

fn rfc3339(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The keyword arguments of `wamp.subscription.get_events`.
#[derive(Debug, Default)]
pub(crate) struct Query {
    reverse: bool,
    limit: Option<usize>,
    from_time: Option<SystemTime>,
    after_time: Option<SystemTime>,
    before_time: Option<SystemTime>,
    until_time: Option<SystemTime>,
    topic: Option<String>,
    from_publication: Option<Id>,
    after_publication: Option<Id>,
    before_publication: Option<Id>,
    until_publication: Option<Id>,
}

impl Query {
    /// Reads the spec's keyword arguments (and Crossbar.io's positional `limit`, the
    /// second argument); an unknown key or a bad value is an error.
    pub fn parse(args: &List, kwargs: &Dict) -> Result<Self, String> {
        let mut q = Query::default();
        if let Some(limit) = args.get(1) {
            q.limit = Some(positive(limit, "limit")?);
        }
        for (key, value) in kwargs {
            match key.as_str() {
                "reverse" => {
                    q.reverse = value
                        .as_bool()
                        .ok_or_else(|| "reverse must be a boolean".to_owned())?;
                }
                "limit" => q.limit = Some(positive(value, key)?),
                "from_time" => q.from_time = Some(time_of(value, key)?),
                "after_time" => q.after_time = Some(time_of(value, key)?),
                "before_time" => q.before_time = Some(time_of(value, key)?),
                "until_time" => q.until_time = Some(time_of(value, key)?),
                "topic" => match value.as_str() {
                    Some(t) if uri::is_valid_uri(t, uri::UriRule::Loose) => {
                        q.topic = Some(t.to_owned());
                    }
                    _ => return Err("topic must be a URI".into()),
                },
                "from_publication" => q.from_publication = Some(id_of(value, key)?),
                "after_publication" => q.after_publication = Some(id_of(value, key)?),
                "before_publication" => q.before_publication = Some(id_of(value, key)?),
                "until_publication" => q.until_publication = Some(id_of(value, key)?),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(q)
    }

    fn admits_time(&self, at: SystemTime) -> bool {
        self.from_time.is_none_or(|t| at >= t)
            && self.after_time.is_none_or(|t| at > t)
            && self.before_time.is_none_or(|t| at < t)
            && self.until_time.is_none_or(|t| at <= t)
    }
}

fn positive(v: &Value, key: &str) -> Result<usize, String> {
    match v.as_u64() {
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(format!("{key} must be a positive integer")),
    }
}

fn id_of(v: &Value, key: &str) -> Result<Id, String> {
    v.as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{key} must be a publication ID"))
}

fn time_of(v: &Value, key: &str) -> Result<SystemTime, String> {
    let text = v
        .as_str()
        .ok_or_else(|| format!("{key} must be an RFC 3339 timestamp"))?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| format!("{key} is not an RFC 3339 timestamp ({text:?}): {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn history(limit: usize) -> History {
        History::new(vec![
            EventHistory::new("com.log", MatchPolicy::Exact).limit(limit),
            EventHistory::new("com", MatchPolicy::Prefix).limit(limit),
        ])
    }

    fn publish(h: &mut History, topic: &str, id: Id, options: &PublishOptions) -> Recorded {
        let payload = Payload::args(vec![Value::from(id)]);
        h.record(topic, id, &Dict::new(), options, false, &payload)
    }

    fn ids(events: Vec<&Stored>) -> Vec<Id> {
        events.into_iter().map(|e| e.publication).collect()
    }

    fn query(kwargs: &[(&str, Value)]) -> Query {
        let k: Dict = kwargs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        Query::parse(&List::new(), &k).unwrap()
    }

    #[test]
    fn logs_keep_their_matching_events_within_the_limit() {
        let mut h = history(3);
        let none = PublishOptions::default();
        assert_eq!(publish(&mut h, "com.log", 1, &none).logs, 2);
        assert_eq!(publish(&mut h, "com.other", 2, &none).logs, 1);
        assert_eq!(publish(&mut h, "org.x", 3, &none).logs, 0);
        for id in 4..=6 {
            publish(&mut h, "com.log", id, &none);
        }
        let exact = h.log_mut("com.log", MatchPolicy::Exact).unwrap();
        assert_eq!(
            ids(exact.query(&Query::default(), "", "").unwrap()),
            [4, 5, 6]
        );
        let prefix = h.log_mut("com", MatchPolicy::Prefix).unwrap();
        assert_eq!(
            ids(prefix.query(&Query::default(), "", "").unwrap()),
            [4, 5, 6]
        );
        assert_eq!(h.usage().0, 6);
        // By session ID: not kept.
        let by_id = PublishOptions {
            eligible: Some(vec![7]),
            ..Default::default()
        };
        assert_eq!(publish(&mut h, "com.log", 7, &by_id), Recorded::default());
    }

    #[test]
    fn queries_bound_by_publication_limit_order_topic_and_role() {
        let mut h = history(10);
        let none = PublishOptions::default();
        for id in 1..=5 {
            publish(
                &mut h,
                if id % 2 == 0 { "com.a" } else { "com.b" },
                id,
                &none,
            );
        }
        let admins = PublishOptions {
            eligible_authrole: Some(vec!["admin".into()]),
            ..Default::default()
        };
        publish(&mut h, "com.a", 6, &admins);
        let log = h.log_mut("com", MatchPolicy::Prefix).unwrap();
        let run = |q: Query, role: &str| ids(log.query(&q, "someone", role).unwrap());
        assert_eq!(run(Query::default(), "user"), [1, 2, 3, 4, 5]);
        assert_eq!(run(Query::default(), "admin"), [1, 2, 3, 4, 5, 6]);
        let from = |k: &str, id: u64| query(&[(k, Value::from(id))]);
        assert_eq!(run(from("from_publication", 2), "user"), [2, 3, 4, 5]);
        assert_eq!(run(from("after_publication", 2), "user"), [3, 4, 5]);
        assert_eq!(run(from("before_publication", 4), "user"), [1, 2, 3]);
        assert_eq!(run(from("until_publication", 4), "user"), [1, 2, 3, 4]);
        let page = query(&[
            ("reverse", Value::Bool(true)),
            ("limit", Value::from(2u64)),
            ("before_publication", Value::from(5u64)),
        ]);
        assert_eq!(run(page, "user"), [4, 3]);
        let topic = query(&[("topic", Value::Str("com.a".into()))]);
        assert_eq!(run(topic, "admin"), [2, 4, 6]);
        assert!(log.query(&from("after_publication", 99), "", "").is_err());
        // Time bounds: everything is before a time in the future, nothing after it.
        let later = Value::Str("2999-01-01T00:00:00Z".into());
        assert_eq!(
            run(query(&[("before_time", later.clone())]), "user").len(),
            5
        );
        assert!(run(query(&[("from_time", later)]), "user").is_empty());
        let offset = Value::Str("2000-01-01T01:00:00+01:00".into());
        assert_eq!(run(query(&[("after_time", offset)]), "user").len(), 5);
    }

    #[test]
    fn bad_query_arguments_are_errors() {
        for (k, v) in [
            ("limit", Value::from(0u64)),
            ("limit", Value::Str("3".into())),
            ("reverse", Value::from(1u64)),
            ("from_time", Value::Str("yesterday".into())),
            ("topic", Value::from(3u64)),
            ("after_publication", Value::Str("x".into())),
            ("colour", Value::Bool(true)),
        ] {
            let mut d = Dict::new();
            d.insert(k.into(), v);
            assert!(Query::parse(&List::new(), &d).is_err(), "{k}");
        }
    }

    #[test]
    fn old_events_age_out() {
        let mut h = History::new(vec![
            EventHistory::new("t", MatchPolicy::Exact).max_age(Duration::from_millis(1))
        ]);
        let none = PublishOptions::default();
        publish(&mut h, "t", 1, &none);
        let log = h.log_mut("t", MatchPolicy::Exact).unwrap();
        assert_eq!(log.expire(SystemTime::now() + Duration::from_secs(1)), 1);
        assert_eq!(h.usage(), (0, 0));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(t, "1970-01-01T00:00:01.5Z");
        assert!(time_of(&Value::Str(t), "t").is_ok());
    }
}
