//! The WAMP meta API of every realm: the `wamp.session.*`, `wamp.registration.*` and
//! `wamp.subscription.*` procedures, answered by the realm itself, and the meta events it
//! publishes when sessions join and leave and registrations and subscriptions change.

use std::time::{SystemTime, UNIX_EPOCH};

use wamp_runtime::proto::{error, Dict, Id, List, MatchPolicy, Value};

use crate::broker::Broker;
use crate::dealer::Dealer;

/// The current time as ISO 8601 UTC (`2026-11-25T03:04:05.678Z`).
pub(crate) fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The calendar date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

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
                Ok(if procedure.ends_with("count_subscribers") {
                    vec![Value::from(s.subscribers.len() as u64)]
                } else {
                    let mut ids: Vec<Id> = s.subscribers.iter().copied().collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let n = now();
        assert_eq!(n.len(), 24, "{n}");
        assert!(n.ends_with('Z'));
    }
}
