//! Background registrations or subscriptions: N patterns that never match what a scenario
//! calls or publishes, held by one extra session for the whole run, so that a run shows
//! what the router's cost per message does as its indexes grow.

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Dict, Message, Value};

use crate::conn::{self, ConnError};
use crate::Load;

/// What the background session holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Registrations,
    Subscriptions,
}

/// The session holding the patterns; dropping it ends the session.
pub(crate) struct Background {
    _tx: conn::Tx,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The `i`-th pattern: in the scenario's namespace (`bench.`), so that a lookup meets them,
/// and matching nothing it uses.
fn pattern(policy: MatchPolicy, i: usize) -> String {
    match policy {
        MatchPolicy::Exact => format!("bench.bg{i}.exact"),
        MatchPolicy::Prefix => format!("bench.bg{i}."),
        MatchPolicy::Wildcard => format!("bench.bg{i}..x"),
    }
}

/// Joins one session and registers or subscribes `count` patterns of `policy`, waiting
/// for every acknowledgement.
pub(crate) async fn install(
    load: &Load,
    kind: Kind,
    policy: MatchPolicy,
    count: usize,
) -> Result<Option<Background>, ConnError> {
    if count == 0 {
        return Ok(None);
    }
    let (mut tx, mut rx, _) = conn::join(&load.url, &load.realm, load.serializer).await?;
    // Acknowledgements are read while the requests go out: a router must never be kept
    // waiting on a peer that does not read.
    let (acked_tx, acked) = tokio::sync::oneshot::channel();
    let counting = tokio::spawn(async move {
        let mut n = 0;
        let result = loop {
            match rx.recv().await {
                Ok(Message::Registered { .. } | Message::Subscribed { .. }) => {
                    n += 1;
                    if n == count {
                        break Ok(rx);
                    }
                }
                Ok(Message::Error { error, .. }) => break Err(ConnError::Unexpected(error)),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let _ = acked_tx.send(result);
    });
    let mut options = Dict::new();
    if policy != MatchPolicy::Exact {
        options.insert("match".into(), Value::Str(policy.as_str().into()));
    }
    for i in 0..count {
        let request = i as u64 + 1;
        let uri = pattern(policy, i);
        let msg = match kind {
            Kind::Registrations => Message::Register {
                request,
                options: options.clone(),
                procedure: uri,
            },
            Kind::Subscriptions => Message::Subscribe {
                request,
                options: options.clone(),
                topic: uri,
            },
        };
        tx.send(&msg).await?;
    }
    let mut rx = acked
        .await
        .map_err(|_| ConnError::Unexpected("the acknowledgement reader stopped".into()))??;
    let _ = counting.await;
    // Keep reading (and discarding) so the session stays healthy for the run.
    let reader = tokio::spawn(async move { while rx.recv().await.is_ok() {} });
    Ok(Some(Background { _tx: tx, reader }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_runtime::proto::uri;

    #[test]
    fn patterns_match_nothing_the_scenarios_use() {
        for policy in [
            MatchPolicy::Exact,
            MatchPolicy::Prefix,
            MatchPolicy::Wildcard,
        ] {
            for i in [0, 7, 99_999] {
                let p = pattern(policy, i);
                for used in ["bench.echo", "bench.topic"] {
                    assert!(!uri::matches(&p, policy, used), "{p} matches {used}");
                }
            }
        }
    }
}
