//! A realm's event history in use: the subscriptions it holds for its topics from the
//! start (so that their IDs exist before any subscriber, and a cluster sends their events
//! here), what it records of each publication, and `wamp.subscription.get_events`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{error, Dict, Id, List, Payload, Value};

use super::meta::MetaResult;
use super::{Realm, State};
use crate::broker::Retained;
use crate::history::Query;

/// The subscriber that holds the history's subscriptions: no session has ID 0, so no
/// EVENT is ever sent to it, and the meta API leaves it out.
pub(crate) const HISTORY: Id = 0;

impl State {
    /// Records a publication to `topic` in the logs it matches.
    pub(super) fn record_history(&mut self, topic: &str, p: &Retained) {
        if self.history.is_empty() {
            return;
        }
        let done = self.history.record(
            topic,
            p.publication,
            &p.identity,
            &p.options,
            p.passthru,
            &p.payload,
        );
        if done.evicted > 0 {
            self.stats
                .history_evicted
                .fetch_add(done.evicted as u64, Ordering::Relaxed);
        }
    }
}

impl Realm {
    /// Subscribes the history to each of its topics, for good. On a cluster each takes
    /// the cluster's subscription ID (retried until NATS answers).
    pub fn keep_history(self: &Arc<Self>) {
        let mut st = self.state.lock();
        let patterns: Vec<(String, MatchPolicy)> = st
            .history
            .patterns()
            .map(|(t, p)| (t.to_owned(), p))
            .collect();
        for (topic, policy) in patterns {
            match st.routing.subscription_claim(&topic, policy) {
                None => {
                    st.routing.subscribe(HISTORY, &topic, policy, None);
                }
                Some(claim) => {
                    let realm = self.clone();
                    tokio::spawn(async move {
                        let mut wait = Duration::from_millis(100);
                        loop {
                            match claim.settle().await {
                                Ok(joined) => {
                                    let mut st = realm.state.lock();
                                    let id = Some(joined.id);
                                    st.routing.subscribe(HISTORY, &topic, policy, id);
                                    return;
                                }
                                Err(e) => {
                                    tracing::warn!(topic, "event history subscription: {e}");
                                    tokio::time::sleep(wait).await;
                                    wait = (wait * 2).min(Duration::from_secs(5));
                                }
                            }
                        }
                    });
                }
            }
        }
    }

    /// Events and bytes the history holds, for the metrics.
    pub fn history_usage(&self) -> (usize, usize) {
        self.state.lock().history.usage()
    }

    /// `wamp.subscription.get_events(subscription, {…})`; `None` for any other procedure.
    /// The caller must be allowed to subscribe to the subscription's topic, and sees only
    /// the events its authid and authrole were eligible for.
    pub(super) fn history_call(
        &self,
        st: &mut State,
        session: Id,
        procedure: &str,
        payload: &Payload,
    ) -> Option<MetaResult> {
        if procedure != "wamp.subscription.get_events" {
            return None;
        }
        let (args, kwargs) = super::meta::arguments(payload).unwrap_or_default();
        Some(self.get_events(st, session, &args, &kwargs))
    }

    fn get_events(&self, st: &mut State, session: Id, args: &List, kwargs: &Dict) -> MetaResult {
        let invalid = |text: String| (error::INVALID_ARGUMENT, text);
        let Some(id) = args.first().and_then(Value::as_u64) else {
            return Err(invalid(
                "the subscription ID is missing or not an ID".into(),
            ));
        };
        let query = Query::parse(args, kwargs).map_err(invalid)?;
        let (topic, policy) = match st.routing.subscriptions().get(id) {
            Some(s) => (s.topic.clone(), s.policy),
            None => {
                let text = format!("no subscription {id}");
                return Err((error::NO_SUCH_SUBSCRIPTION, text));
            }
        };
        let action = crate::authorizer::Action::Subscribe;
        self.authorize(st, session, action, &topic)
            .map_err(|text| (error::NOT_AUTHORIZED, text))?;
        let (authid, authrole) = st
            .peer(session)
            .map(|p| (p.authid.clone(), p.authrole.clone()))
            .unwrap_or_default();
        let Some(log) = st.history.log_mut(&topic, policy) else {
            let text = format!(
                "no event history is kept for subscription {id} ({} {topic:?})",
                policy.as_str()
            );
            return Err(invalid(text));
        };
        let expired = log.expire(SystemTime::now());
        if expired > 0 {
            self.stats
                .history_evicted
                .fetch_add(expired as u64, Ordering::Relaxed);
        }
        let pattern = policy != MatchPolicy::Exact;
        let events = log.query(&query, &authid, &authrole).map_err(invalid)?;
        let list = events.iter().map(|e| e.to_value(id, pattern)).collect();
        Ok(vec![Value::List(list)])
    }
}
