//! The meta procedures that answer for the whole cluster on a node of one: the sessions
//! (count, list, get, kill), and the subscriptions' subscribers, which each node knows
//! for its own sessions only. The node answering asks the others
//! ([`crate::cluster::RealmLink::ask_all`]) and combines their answers with its own.
//! Registrations need no asking: every node's dealer table holds the whole cluster's
//! callees.

use std::sync::Arc;

use wamp_runtime::proto::{code, Dict, Id, List, Message, Payload, Value};

use super::meta::MetaResult;
use super::{error_reply, Realm};
use crate::cluster::{Answer, RealmLink};

/// How the answers of the nodes make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Combine {
    /// Counts add up.
    Sum,
    /// Lists of IDs join, each ID once.
    Union,
    /// The first node that has it answers.
    FirstOk,
    /// The first answer that is not null.
    FirstFound,
    /// `{exact, prefix, wildcard}` lists join.
    ByPolicy,
}

/// How `procedure` is answered on a cluster, if it asks the other nodes.
pub(super) fn how(procedure: &str) -> Option<Combine> {
    Some(match procedure {
        "wamp.session.count" | "wamp.subscription.count_subscribers" => Combine::Sum,
        "wamp.session.list"
        | "wamp.session.kill_by_authid"
        | "wamp.session.kill_by_authrole"
        | "wamp.session.kill_all"
        | "wamp.subscription.list_subscribers"
        | "wamp.subscription.match" => Combine::Union,
        "wamp.session.get" | "wamp.session.kill" | "wamp.subscription.get" => Combine::FirstOk,
        "wamp.subscription.lookup" => Combine::FirstFound,
        "wamp.subscription.list" => Combine::ByPolicy,
        _ => return None,
    })
}

fn ids(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_list).cloned().unwrap_or_default()
}

fn union(mut all: Vec<Value>) -> Value {
    all.sort_by_key(|v| v.as_u64());
    all.dedup();
    Value::List(all)
}

/// One answer out of this node's and the others'.
pub(super) fn combine(how: Combine, local: Answer, others: Vec<Answer>) -> Answer {
    let first_error = local.clone().err();
    let oks: Vec<List> = std::iter::once(local)
        .chain(others)
        .filter_map(Result::ok)
        .collect();
    if oks.is_empty() {
        return Err(first_error.unwrap_or_default());
    }
    Ok(match how {
        Combine::Sum => {
            let n: u64 = oks.iter().filter_map(|a| a.first()?.as_u64()).sum();
            vec![Value::from(n)]
        }
        Combine::Union => {
            let all = oks.iter().flat_map(|a| ids(a.first())).collect();
            vec![union(all)]
        }
        Combine::FirstOk => oks.into_iter().next().unwrap_or_default(),
        Combine::FirstFound => oks
            .into_iter()
            .find(|a| a.first().is_some_and(|v| *v != Value::Null))
            .unwrap_or_else(|| vec![Value::Null]),
        Combine::ByPolicy => {
            let mut d = Dict::new();
            for key in ["exact", "prefix", "wildcard"] {
                let all = oks
                    .iter()
                    .flat_map(|a| ids(a.first().and_then(Value::as_dict).and_then(|d| d.get(key))))
                    .collect();
                d.insert(key.into(), union(all));
            }
            vec![Value::Dict(d)]
        }
    })
}

fn owned(r: MetaResult) -> Answer {
    r.map_err(|(uri, text)| (uri.to_owned(), text))
}

impl Realm {
    /// This node's own answer to a meta procedure, for another node that asks.
    pub fn meta_here(&self, caller: Id, procedure: &str, args: List, kwargs: Dict) -> MetaResult {
        let payload = Payload::new(args, kwargs);
        let mut st = self.state.lock();
        st.meta_call(caller, procedure, &payload)
            .unwrap_or_else(|| {
                Err((
                    wamp_runtime::proto::error::NO_SUCH_PROCEDURE,
                    procedure.to_owned(),
                ))
            })
    }

    /// Answers `session`'s call of a meta procedure for the whole cluster: `local` is
    /// this node's answer; the others are asked in the background.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gather(
        self: &Arc<Self>,
        link: RealmLink,
        how: Combine,
        session: Id,
        request: Id,
        procedure: &str,
        payload: &Payload,
        local: MetaResult,
    ) {
        let (args, kwargs) = (
            payload.args_values().unwrap_or_default(),
            payload.kwargs_values().unwrap_or_default(),
        );
        let realm = self.clone();
        let procedure = procedure.to_owned();
        tokio::spawn(async move {
            let others = link.ask_all(session, &procedure, &args, &kwargs).await;
            let reply = match combine(how, owned(local), others) {
                Ok(args) => Message::Result {
                    request,
                    details: Dict::new(),
                    payload: Payload::args(args),
                },
                Err((uri, text)) => error_reply(code::CALL, request, &uri, text),
            };
            realm.state.lock().send(session, reply);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[u64]) -> Answer {
        Ok(vec![Value::List(
            ids.iter().map(|i| Value::from(*i)).collect(),
        )])
    }

    #[test]
    fn answers_combine_by_kind() {
        let n = |k: u64| Ok(vec![Value::from(k)]);
        let missing: Answer = Err(("wamp.error.no_such_session".into(), "no".into()));
        assert_eq!(
            combine(Combine::Sum, n(2), vec![n(3), missing.clone()]),
            n(5)
        );
        assert_eq!(
            combine(Combine::Union, list(&[3, 1]), vec![list(&[2, 3])]),
            list(&[1, 2, 3])
        );
        assert_eq!(combine(Combine::FirstOk, missing.clone(), vec![n(7)]), n(7));
        assert_eq!(combine(Combine::FirstOk, missing.clone(), vec![]), missing);
        let null = Ok(vec![Value::Null]);
        assert_eq!(combine(Combine::FirstFound, null.clone(), vec![n(4)]), n(4));
        assert_eq!(combine(Combine::FirstFound, null.clone(), vec![]), null);
    }
}
