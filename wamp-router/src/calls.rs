//! The calls in flight of one realm: who called, which callee serves the call, its
//! deadline, and the indexes that find a call by invocation, by the caller's request, and
//! by either session when it leaves (without looking at anybody else's calls).
//!
//! Every call is keyed by the invocation request ID this table gave it. The table decides
//! nothing about routing (that is [`crate::realm::routing`]) and sends nothing (that is
//! the realm's).

use foldhash::{HashMap, HashSet};
use std::collections::BTreeSet;

use wamp_runtime::proto::{Id, IdSequence};

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
    /// The cluster node serving the call when the callee is on another node: this node
    /// keeps only the caller's half (the callee's node has the invocation, its timeout
    /// and its answers).
    pub remote: Option<crate::cluster::NodeRef>,
    /// Whether the callee has a `concurrency` limit: the call counts against it while it
    /// is in flight.
    pub limited: bool,
}

/// When a call times out, and the `timeout` it was given (for the caller's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    pub at: tokio::time::Instant,
    pub timeout_ms: u64,
}

/// What a CALL is to the dealer (see [`Calls::call_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A new call.
    New,
    /// The next part of progressive invocation `0`.
    Continuation(Id),
    /// A continuation for a call that ended: discarded without an answer.
    Late,
}

/// What a leaving session leaves behind in the table of calls.
#[derive(Debug, Default)]
pub(crate) struct Departure {
    /// The calls it was serving.
    pub served: Vec<Pending>,
    /// The invocations it was waiting for, as a caller.
    pub called: Vec<(Id, Pending)>,
}

/// The calls in flight of one realm.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    pending: HashMap<Id, Pending>,
    /// Invocation IDs by (caller, the caller's request ID), for CANCEL.
    by_caller: HashMap<(Id, Id), Id>,
    /// The highest CALL request ID of each caller that streams progressive invocations:
    /// a lower one is the continuation of a call, or late for one that ended.
    watermarks: HashMap<Id, Id>,
    /// How many calls each caller has in flight.
    in_flight: HashMap<Id, usize>,
    /// How many invocations each (callee, registration) with a `concurrency` limit has in
    /// flight.
    serving: HashMap<(Id, Id), u32>,
    /// The invocations each session takes part in, as caller or callee: a leaving
    /// session's calls are found without looking at the others'.
    calls_of: HashMap<Id, HashSet<Id>>,
    /// The calls that time out, soonest first: the realm's one timer sleeps until the
    /// first.
    deadlines: BTreeSet<(tokio::time::Instant, Id)>,
    invocation_ids: IdSequence,
}

impl Calls {
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
        if pending.limited {
            *self
                .serving
                .entry((pending.callee, pending.registration))
                .or_default() += 1;
        }
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

    /// How many invocations of `registration` callee `callee` (one with a `concurrency`
    /// limit) has in flight.
    pub fn serving(&self, callee: Id, registration: Id) -> u32 {
        self.serving
            .get(&(callee, registration))
            .copied()
            .unwrap_or(0)
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
        if p.limited {
            let key = (p.callee, p.registration);
            if let Some(n) = self.serving.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.serving.remove(&key);
                }
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

    /// The calls served on other nodes of the cluster.
    pub fn remote_ids(&self) -> Vec<Id> {
        let remote = self.pending.iter().filter(|(_, p)| p.remote.is_some());
        remote.map(|(id, _)| *id).collect()
    }

    /// Ends every call served on `node` (it left the cluster): they are the callers' to
    /// hear of.
    pub fn take_remote(&mut self, node: crate::cluster::NodeRef) -> Vec<Pending> {
        let ids: Vec<Id> = self
            .pending
            .iter()
            .filter(|(_, p)| p.remote == Some(node))
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter().filter_map(|id| self.take(id)).collect()
    }

    /// Ends every call a leaving session takes part in: the calls it was serving (their
    /// callers must hear of it) and the invocations it was waiting on as a caller.
    pub fn remove_session(&mut self, session: Id) -> Departure {
        let mut gone = Departure::default();
        self.watermarks.remove(&session);
        crate::sparse::shrink_when_sparse(&mut self.watermarks);
        let ended = self.calls_of.remove(&session).unwrap_or_default();
        for inv in ended {
            if let Some(p) = self.take(inv) {
                if p.callee == session {
                    gone.served.push(p);
                } else {
                    gone.called.push((inv, p));
                }
            }
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            remote: None,
            limited: true,
        }
    }

    #[test]
    fn deadlines_come_out_soonest_first_and_go_with_their_calls() {
        let mut d = Calls::default();
        let now = tokio::time::Instant::now();
        let at = |ms| Deadline {
            at: now + std::time::Duration::from_millis(ms),
            timeout_ms: ms,
        };
        let late = d.start_call(pending(1, 1, 9, Some(at(300))));
        let soon = d.start_call(pending(1, 2, 9, Some(at(100))));
        let answered = d.start_call(pending(2, 1, 9, Some(at(50))));
        let _untimed = d.start_call(pending(2, 2, 9, None));
        assert_eq!(d.serving(9, 1), 4);
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
        assert!(
            d.serving.is_empty(),
            "the concurrency counts go with the calls"
        );
        let _ = late;
    }
}
