//! The dealer's registration index and its table of calls in flight.
//!
//! It only decides (which callee gets a call, which caller a result belongs to); the realm
//! delivers. Every pending call is keyed by the invocation request ID the dealer gave it.

use std::collections::{BTreeSet, HashMap, HashSet};

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Id, IdSequence};

use crate::uri_index::UriIndex;

pub(crate) use wamp_runtime::proto::InvokePolicy as Invoke;

/// One session serving a registration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callee {
    pub session: Id,
    /// Whether invocations tell this callee who called (`disclose_caller`).
    pub disclose_caller: bool,
    /// Whether invocations pass the caller's `timeout` on (`forward_timeout`).
    pub forward_timeout: bool,
}

/// One registration: a procedure (or pattern) and the sessions that serve it.
#[derive(Debug)]
pub(crate) struct Registration {
    pub procedure: String,
    pub policy: MatchPolicy,
    pub invoke: Invoke,
    /// In registration order.
    pub callees: Vec<Callee>,
    /// The next callee for round-robin.
    cursor: usize,
    /// When it was created (ISO 8601, UTC), for the meta API.
    pub created: String,
}

impl Registration {
    /// The callee of the next call, by the invocation policy.
    fn pick(&mut self) -> Option<Callee> {
        let n = self.callees.len();
        if n == 0 {
            return None;
        }
        let i = match self.invoke {
            Invoke::Single | Invoke::First => 0,
            Invoke::Last => n - 1,
            Invoke::RoundRobin => {
                let i = self.cursor % n;
                self.cursor = (i + 1) % n;
                i
            }
            Invoke::Random => rand::random_range(0..n),
        };
        self.callees.get(i).copied()
    }
}

/// A call in flight.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub caller: Id,
    pub caller_request: Id,
    pub callee: Id,
    pub receive_progress: bool,
    /// When the router ends the call if it is still in flight (its `timeout`).
    pub deadline: Option<Deadline>,
    /// The registration invoked (progressive call invocations continue on it).
    pub registration: Id,
    /// Whether the caller streams more CALLs into this call (progressive invocation).
    pub input_open: bool,
    /// Whether the caller canceled it in `kill` mode: the callee's answer ends it with
    /// `wamp.error.canceled`.
    pub canceled: bool,
}

/// When a call times out, and the `timeout` it was given (for the caller's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    pub at: tokio::time::Instant,
    pub timeout_ms: u64,
}

/// Why a registration was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// Registered already with `single` invocation (or by this session).
    AlreadyExists,
    /// A shared registration exists with this other invocation policy.
    DifferentPolicy(Invoke),
}

/// What a leaving session leaves behind in the dealer.
#[derive(Debug, Default)]
pub(crate) struct Departure {
    /// The calls it was serving.
    pub served: Vec<Pending>,
    /// The invocations it was waiting for, as a caller.
    pub called: Vec<(Id, Pending)>,
    /// Its registrations, each with whether it was deleted.
    pub registrations: Vec<(Id, bool)>,
}

/// What a CALL is to the dealer (see [`Dealer::call_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A new call.
    New,
    /// The next part of progressive invocation `0`.
    Continuation(Id),
    /// A continuation for a call that ended: discarded without an answer.
    Late,
}

/// The callee chosen for a call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub registration: Id,
    pub callee: Callee,
    /// Whether the registration is a pattern (the callee is told the procedure called).
    pub pattern: bool,
}

/// The registration index and pending calls of one realm.
///
/// A call goes to the exact registration of its procedure if there is one, else to the
/// longest matching prefix registration, else to the matching wildcard registration with
/// the most non-wildcard components (the earliest registered among equals).
#[derive(Debug, Default)]
pub(crate) struct Dealer {
    regs: HashMap<Id, Registration>,
    /// Registration IDs by procedure pattern.
    index: UriIndex,
    /// The registrations each callee session is in.
    by_session: HashMap<Id, HashSet<Id>>,
    pending: HashMap<Id, Pending>,
    /// Invocation IDs by (caller, the caller's request ID), for CANCEL.
    by_caller: HashMap<(Id, Id), Id>,
    /// The highest CALL request ID of each caller that streams progressive invocations:
    /// a lower one is the continuation of a call, or late for one that ended.
    watermarks: HashMap<Id, Id>,
    /// How many calls each caller has in flight.
    in_flight: HashMap<Id, usize>,
    /// The invocations each session takes part in, as caller or callee: a leaving
    /// session's calls are found without looking at the others'.
    calls_of: HashMap<Id, HashSet<Id>>,
    /// The calls that time out, soonest first: the realm's one timer sleeps until the
    /// first.
    deadlines: BTreeSet<(tokio::time::Instant, Id)>,
    invocation_ids: IdSequence,
}

impl Dealer {
    /// Registers `procedure` under `policy` for `callee`: a new registration, or another
    /// callee of a shared one (same registration ID). The ID, and whether it is new.
    pub fn register(
        &mut self,
        ids: &IdSequence,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: Callee,
    ) -> Result<(Id, bool), RegisterError> {
        if let Some(id) = self.index.get(policy, procedure) {
            let reg = self.regs.get_mut(&id).ok_or(RegisterError::AlreadyExists)?;
            // As Crossbar.io: a `single` registration exists, whatever is asked; a shared
            // one is joined only with its own policy.
            if reg.invoke == Invoke::Single
                || reg.callees.iter().any(|c| c.session == callee.session)
            {
                return Err(RegisterError::AlreadyExists);
            }
            if invoke != reg.invoke {
                return Err(RegisterError::DifferentPolicy(reg.invoke));
            }
            self.by_session
                .entry(callee.session)
                .or_default()
                .insert(id);
            reg.callees.push(callee);
            return Ok((id, false));
        }
        let id = ids.next_id();
        self.by_session
            .entry(callee.session)
            .or_default()
            .insert(id);
        self.index.insert(policy, procedure, id);
        self.regs.insert(
            id,
            Registration {
                procedure: procedure.to_owned(),
                policy,
                invoke,
                callees: vec![callee],
                cursor: 0,
                created: crate::timestamp::now(),
            },
        );
        Ok((id, true))
    }

    /// Removes `callee` from registration `id`: `None` when it is not a callee of it,
    /// else whether the registration went with its last callee.
    pub fn unregister(&mut self, callee: Id, id: Id) -> Option<bool> {
        let reg = self.regs.get_mut(&id)?;
        let before = reg.callees.len();
        reg.callees.retain(|c| c.session != callee);
        if reg.callees.len() == before {
            return None;
        }
        let deleted = reg.callees.is_empty();
        if deleted {
            if let Some(r) = self.regs.remove(&id) {
                self.index.remove(r.policy, &r.procedure);
            }
        }
        self.forget_callee(callee, id);
        Some(deleted)
    }

    /// Takes registration `id` off callee `session`'s list.
    fn forget_callee(&mut self, session: Id, id: Id) {
        if let Some(set) = self.by_session.get_mut(&session) {
            set.remove(&id);
            if set.is_empty() {
                self.by_session.remove(&session);
            }
        }
    }

    /// How many registrations `session` is a callee of.
    pub fn registrations_of(&self, session: Id) -> usize {
        self.by_session.get(&session).map_or(0, HashSet::len)
    }

    /// Removes the registration of `(policy, procedure)` with all its callees, for a
    /// REGISTER with `force_reregister`: its ID and the callees' sessions.
    pub fn take_over(&mut self, procedure: &str, policy: MatchPolicy) -> Option<(Id, Vec<Id>)> {
        let id = self.index.get(policy, procedure)?;
        self.index.remove(policy, procedure);
        let reg = self.regs.remove(&id)?;
        let callees: Vec<Id> = reg.callees.iter().map(|c| c.session).collect();
        for &c in &callees {
            self.forget_callee(c, id);
        }
        Some((id, callees))
    }

    /// Every registration, for the meta API.
    pub fn all(&self) -> impl Iterator<Item = (Id, &Registration)> {
        self.regs.iter().map(|(id, r)| (*id, r))
    }

    /// The registration for `(policy, procedure)`, if there is one.
    pub fn lookup(&self, procedure: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(policy, procedure)
    }

    /// Registration `id`.
    pub fn get(&self, id: Id) -> Option<&Registration> {
        self.regs.get(&id)
    }

    /// The registration a call to `procedure` goes to.
    pub fn find(&self, procedure: &str) -> Option<Id> {
        self.index.best_match(procedure).map(|(id, _)| id)
    }

    /// Picks the callee for a call to `procedure`, by match and invocation policy.
    pub fn route(&mut self, procedure: &str) -> Option<Route> {
        let registration = self.find(procedure)?;
        let reg = self.regs.get_mut(&registration)?;
        let pattern = reg.policy != MatchPolicy::Exact;
        reg.pick().map(|callee| Route {
            registration,
            callee,
            pattern,
        })
    }

    /// How many calls are in flight.
    pub fn calls_in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Records a call in flight and returns the invocation request ID for the callee.
    pub fn start_call(&mut self, pending: Pending) -> Id {
        let mark = self.watermarks.entry(pending.caller).or_default();
        *mark = (*mark).max(pending.caller_request);
        let id = self.invocation_ids.next_id();
        self.by_caller
            .insert((pending.caller, pending.caller_request), id);
        *self.in_flight.entry(pending.caller).or_default() += 1;
        for session in [pending.caller, pending.callee] {
            self.calls_of.entry(session).or_default().insert(id);
        }
        if let Some(d) = pending.deadline {
            self.deadlines.insert((d.at, id));
        }
        self.pending.insert(id, pending);
        id
    }

    /// When the first call with a timeout runs out.
    pub fn next_deadline(&self) -> Option<tokio::time::Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// The calls whose timeout ran out by `now`, ended (the caller and callee are the
    /// realm's to tell).
    pub fn take_expired(&mut self, now: tokio::time::Instant) -> Vec<(Id, Pending)> {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(p) = self.take(id) {
                due.push((id, p));
            }
        }
        due
    }

    /// How many calls `caller` has in flight.
    pub fn in_flight(&self, caller: Id) -> usize {
        self.in_flight.get(&caller).copied().unwrap_or(0)
    }

    /// What a CALL with `request` from `caller` (which streams progressive invocations)
    /// is: the continuation of invocation `id`, late for a call that ended, or new.
    pub fn call_kind(&self, caller: Id, request: Id) -> CallKind {
        if let Some(&inv) = self.by_caller.get(&(caller, request)) {
            return match self.pending.get(&inv) {
                Some(p) if p.input_open => CallKind::Continuation(inv),
                _ => CallKind::Late,
            };
        }
        match self.watermarks.get(&caller) {
            Some(&mark) if request <= mark => CallKind::Late,
            _ => CallKind::New,
        }
    }

    /// The caller sent the last part of progressive invocation `id`.
    pub fn close_input(&mut self, id: Id) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.input_open = false;
        }
    }

    /// Marks invocation `id` canceled (`kill` mode); false if it is gone or was already.
    pub fn mark_canceled(&mut self, id: Id) -> bool {
        match self.pending.get_mut(&id) {
            Some(p) if !p.canceled => {
                p.canceled = true;
                true
            }
            _ => false,
        }
    }

    /// The invocation of the caller's call `caller_request`, while it is in flight.
    pub fn invocation_of(&self, caller: Id, caller_request: Id) -> Option<Id> {
        self.by_caller.get(&(caller, caller_request)).copied()
    }

    /// Ends invocation `id` whoever serves it (a cancel or a timeout); its deadline goes.
    pub fn take(&mut self, id: Id) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        self.by_caller.remove(&(p.caller, p.caller_request));
        if let Some(n) = self.in_flight.get_mut(&p.caller) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&p.caller);
            }
        }
        for session in [p.caller, p.callee] {
            if let Some(calls) = self.calls_of.get_mut(&session) {
                calls.remove(&id);
                if calls.is_empty() {
                    self.calls_of.remove(&session);
                }
            }
        }
        if let Some(d) = p.deadline {
            self.deadlines.remove(&(d.at, id));
        }
        Some(p)
    }

    /// The pending call of invocation `id`, whoever serves it.
    pub fn pending_any(&self, id: Id) -> Option<&Pending> {
        self.pending.get(&id)
    }

    /// The pending call that `callee`'s invocation `request` belongs to.
    pub fn pending(&self, callee: Id, request: Id) -> Option<&Pending> {
        self.pending.get(&request).filter(|p| p.callee == callee)
    }

    /// Ends the pending call that `callee`'s invocation `request` belongs to.
    pub fn finish_call(&mut self, callee: Id, request: Id) -> Option<Pending> {
        self.pending(callee, request)?;
        self.take(request)
    }

    /// Removes a leaving session's registrations and every call it takes part in. Returns
    /// the calls it was serving (their callers must hear of it), the invocations it was
    /// waiting on as a caller, and its registrations (each with whether it was deleted).
    pub fn remove_session(&mut self, session: Id) -> Departure {
        let mine = self.by_session.get(&session).cloned().unwrap_or_default();
        let mut registrations = Vec::new();
        for id in mine {
            if let Some(deleted) = self.unregister(session, id) {
                registrations.push((id, deleted));
            }
        }
        let mut served = Vec::new();
        let mut called = Vec::new();
        self.watermarks.remove(&session);
        let ended = self.calls_of.remove(&session).unwrap_or_default();
        for inv in ended {
            if let Some(p) = self.take(inv) {
                if p.callee == session {
                    served.push(p);
                } else {
                    called.push((inv, p));
                }
            }
        }
        Departure {
            served,
            called,
            registrations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callee(session: Id) -> Callee {
        Callee {
            session,
            disclose_caller: false,
            forward_timeout: false,
        }
    }

    #[test]
    fn register_call_and_leave() {
        let ids = IdSequence::new();
        let mut d = Dealer::default();
        let exact = MatchPolicy::Exact;
        let (r, created) = d
            .register(&ids, "com.add", exact, Invoke::Single, callee(7))
            .expect("registers");
        assert!(created);
        assert_eq!(
            d.register(&ids, "com.add", exact, Invoke::Single, callee(8)),
            Err(RegisterError::AlreadyExists)
        );
        assert_eq!(d.unregister(8, r), None);
        let inv = d.start_call(pending(1, 5, 7, None));
        assert!(d.pending(8, inv).is_none());
        let gone = d.remove_session(7);
        assert_eq!(gone.served.len(), 1);
        assert!(gone.called.is_empty());
        assert_eq!(gone.registrations, vec![(r, true)]);
        assert!(d.route("com.add").is_none());
    }

    fn pending(caller: Id, request: Id, callee: Id, deadline: Option<Deadline>) -> Pending {
        Pending {
            caller,
            caller_request: request,
            callee,
            receive_progress: false,
            deadline,
            registration: 1,
            input_open: false,
            canceled: false,
        }
    }

    #[test]
    fn deadlines_come_out_soonest_first_and_go_with_their_calls() {
        let mut d = Dealer::default();
        let now = tokio::time::Instant::now();
        let at = |ms| Deadline {
            at: now + std::time::Duration::from_millis(ms),
            timeout_ms: ms,
        };
        let late = d.start_call(pending(1, 1, 9, Some(at(300))));
        let soon = d.start_call(pending(1, 2, 9, Some(at(100))));
        let answered = d.start_call(pending(2, 1, 9, Some(at(50))));
        let _untimed = d.start_call(pending(2, 2, 9, None));
        assert_eq!(d.next_deadline(), Some(at(50).at));
        assert!(d.finish_call(9, answered).is_some());
        assert_eq!(
            d.next_deadline(),
            Some(at(100).at),
            "an answered call's deadline goes"
        );
        let due = d.take_expired(at(200).at);
        assert_eq!(due.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [soon]);
        assert_eq!(d.next_deadline(), Some(at(300).at));
        assert_eq!(d.calls_in_flight(), 2);
        // The callee leaving ends both remaining calls, found through its own index.
        let gone = d.remove_session(9);
        assert_eq!(gone.served.len(), 2);
        assert!(gone
            .served
            .iter()
            .any(|p| p.caller_request == 1 && p.caller == 1));
        assert_eq!((d.calls_in_flight(), d.next_deadline()), (0, None));
        assert!(d.calls_of.is_empty() && d.by_caller.is_empty());
        let _ = late;
    }

    #[test]
    fn shared_registrations_follow_their_policy() {
        let ids = IdSequence::new();
        let mut d = Dealer::default();
        let exact = MatchPolicy::Exact;
        let (a, _) = d
            .register(&ids, "p", exact, Invoke::RoundRobin, callee(1))
            .unwrap();
        let (b, created) = d
            .register(&ids, "p", exact, Invoke::RoundRobin, callee(2))
            .unwrap();
        assert_eq!(a, b, "one registration, two callees");
        assert!(!created);
        assert_eq!(
            d.register(&ids, "p", exact, Invoke::Last, callee(3)),
            Err(RegisterError::DifferentPolicy(Invoke::RoundRobin)),
            "another policy is refused"
        );
        assert_eq!(
            d.register(&ids, "p", exact, Invoke::Single, callee(3)),
            Err(RegisterError::DifferentPolicy(Invoke::RoundRobin)),
            "single on a shared registration is another policy"
        );
        assert_eq!(
            d.register(&ids, "p", exact, Invoke::RoundRobin, callee(2)),
            Err(RegisterError::AlreadyExists),
            "the same session twice is refused"
        );
        let order: Vec<Id> = (0..4)
            .map(|_| d.route("p").unwrap().callee.session)
            .collect();
        assert_eq!(order, [1, 2, 1, 2]);
        assert_eq!(d.unregister(1, a), Some(false));
        assert_eq!(d.route("p").unwrap().callee.session, 2);
        assert_eq!(d.unregister(2, a), Some(true));
        assert!(d.route("p").is_none());

        let f = d
            .register(&ids, "q", exact, Invoke::First, callee(1))
            .unwrap();
        d.register(&ids, "q", exact, Invoke::First, callee(2))
            .unwrap();
        assert_eq!(d.route("q").unwrap().callee.session, 1);
        let l = d
            .register(&ids, "r", exact, Invoke::Last, callee(1))
            .unwrap();
        d.register(&ids, "r", exact, Invoke::Last, callee(2))
            .unwrap();
        assert_eq!(d.route("r").unwrap().callee.session, 2);
        assert_ne!(f, l);
        d.register(&ids, "s", exact, Invoke::Random, callee(1))
            .unwrap();
        d.register(&ids, "s", exact, Invoke::Random, callee(2))
            .unwrap();
        assert!([1, 2].contains(&d.route("s").unwrap().callee.session));
    }

    #[test]
    fn exact_beats_longest_prefix_beats_wildcard() {
        let ids = IdSequence::new();
        let mut d = Dealer::default();
        let single = Invoke::Single;
        d.register(&ids, "a.b", MatchPolicy::Prefix, single, callee(1))
            .unwrap();
        d.register(&ids, "a.b.c", MatchPolicy::Prefix, single, callee(2))
            .unwrap();
        d.register(&ids, "a..c.d", MatchPolicy::Wildcard, single, callee(3))
            .unwrap();
        d.register(&ids, "...d", MatchPolicy::Wildcard, single, callee(4))
            .unwrap();
        d.register(&ids, "a.b.c.d", MatchPolicy::Exact, single, callee(5))
            .unwrap();
        let to = |d: &mut Dealer, p: &str| d.route(p).map(|r| (r.callee.session, r.pattern));
        assert_eq!(to(&mut d, "a.b.c.d"), Some((5, false)));
        assert_eq!(to(&mut d, "a.b.c.e"), Some((2, true)));
        assert_eq!(to(&mut d, "a.b.x"), Some((1, true)));
        assert_eq!(to(&mut d, "a.x.c.d"), Some((3, true)));
        assert_eq!(to(&mut d, "x.y.z.d"), Some((4, true)));
        assert_eq!(to(&mut d, "x.y"), None);
    }
}
