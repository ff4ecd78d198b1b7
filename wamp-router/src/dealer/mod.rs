//! The dealer's registration table: which sessions serve which procedure (or pattern),
//! under which invocation policy, and which callee the next call goes to.
//!
//! It only decides; the realm delivers, and the calls in flight are in [`crate::calls`].

use foldhash::{HashMap, HashSet};

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

use crate::uri_index::UriIndex;

mod mirror;

pub(crate) use mirror::Mirrored;

pub(crate) use wamp_runtime::proto::InvokePolicy as Invoke;

/// One session serving a registration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callee {
    pub session: Id,
    /// Whether invocations tell this callee who called (`disclose_caller`).
    pub disclose_caller: bool,
    /// Whether invocations pass the caller's `timeout` on (`forward_timeout`).
    pub forward_timeout: bool,
    /// What the callee announced that a call to it depends on (progressive call
    /// invocations, payload passthru, INTERRUPT), so that the callee a routing decision
    /// names can be checked without its session at hand.
    pub features: crate::realm::Features,
    /// The cluster node the callee is on (this one, or another).
    pub node: crate::cluster::NodeRef,
    /// The revision of the cluster's record that added this callee of this node (0: not
    /// on a cluster).
    pub joined: u64,
    /// How many invocations of this registration it takes at once (Crossbar.io's
    /// `concurrency`; 0: no limit).
    pub concurrency: u32,
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
    fn new(procedure: &str, policy: MatchPolicy, invoke: Invoke, callees: Vec<Callee>) -> Self {
        Self {
            procedure: procedure.to_owned(),
            policy,
            invoke,
            callees,
            cursor: 0,
            created: crate::timestamp::now(),
        }
    }

    /// The callee of the next call, by the invocation policy, passing over callees at
    /// their `concurrency` (`busy` says how many invocations of registration `id` a callee
    /// has in flight; asked only of callees with a limit).
    fn pick(&mut self, id: Id, busy: &dyn Fn(Id, Id) -> u32) -> Result<Callee, NoRoute> {
        let n = self.callees.len();
        let free = |c: &Callee| c.concurrency == 0 || busy(c.session, id) < c.concurrency;
        let found = match self.invoke {
            Invoke::Single => self.callees.first().filter(|c| free(c)).map(|_| 0),
            Invoke::First => self.callees.iter().position(free),
            Invoke::Last => self.callees.iter().rposition(free),
            Invoke::RoundRobin => {
                let start = self.cursor % n.max(1);
                let i = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&i| free(&self.callees[i]));
                if let Some(i) = i {
                    self.cursor = (i + 1) % n;
                }
                i
            }
            Invoke::Random => match self.callees.iter().filter(|c| free(c)).count() {
                0 => None,
                eligible => {
                    let k = rand::random_range(0..eligible);
                    let mut free_ones = self.callees.iter().enumerate().filter(|(_, c)| free(c));
                    free_ones.nth(k).map(|(i, _)| i)
                }
            },
        };
        match found.and_then(|i| self.callees.get(i)) {
            Some(c) => Ok(*c),
            None if n == 0 => Err(NoRoute::NoCallee),
            None => Err(NoRoute::AtLimit {
                shared: self.invoke != Invoke::Single,
                concurrency: self
                    .callees
                    .iter()
                    .map(|c| c.concurrency)
                    .max()
                    .unwrap_or(0),
            }),
        }
    }
}

/// Why a call found no callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No registration matches the procedure.
    NoCallee,
    /// Every callee that could take it has `concurrency` invocations in flight.
    AtLimit { shared: bool, concurrency: u32 },
}

/// Why a registration was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// Registered already with `single` invocation (or by this session).
    AlreadyExists,
    /// A shared registration exists with this other invocation policy.
    DifferentPolicy(Invoke),
}

/// The callee chosen for a call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub registration: Id,
    pub callee: Callee,
    /// Whether the registration is a pattern (the callee is told the procedure called).
    pub pattern: bool,
}

/// The registrations of one realm.
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
}

impl Dealer {
    /// Registers `procedure` under `policy` for `callee`: a new registration, or another
    /// callee of a shared one (same registration ID). The ID, and whether it is new.
    pub fn register(
        &mut self,
        new_id: impl FnOnce() -> Id,
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
        let id = new_id();
        self.by_session
            .entry(callee.session)
            .or_default()
            .insert(id);
        self.index.insert(policy, procedure, id);
        let reg = Registration::new(procedure, policy, invoke, vec![callee]);
        self.regs.insert(id, reg);
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

    /// The registrations `session` is a callee of.
    pub fn of_session(&self, session: Id) -> impl Iterator<Item = Id> + '_ {
        self.by_session.get(&session).into_iter().flatten().copied()
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

    /// Picks the callee for a call to `procedure`, by match and invocation policy, among
    /// the callees below their `concurrency` (see [`Registration::pick`]).
    pub fn route(
        &mut self,
        procedure: &str,
        busy: &dyn Fn(Id, Id) -> u32,
    ) -> Result<Route, NoRoute> {
        let registration = self.find(procedure).ok_or(NoRoute::NoCallee)?;
        let reg = self.regs.get_mut(&registration).ok_or(NoRoute::NoCallee)?;
        let pattern = reg.policy != MatchPolicy::Exact;
        reg.pick(registration, busy).map(|callee| Route {
            registration,
            callee,
            pattern,
        })
    }

    /// Takes a leaving session off every registration it serves: each registration's ID,
    /// with whether it went with its last callee.
    pub fn remove_session(&mut self, session: Id) -> Vec<(Id, bool)> {
        let mine = self.by_session.get(&session).cloned().unwrap_or_default();
        mine.into_iter()
            .filter_map(|id| Some((id, self.unregister(session, id)?)))
            .collect()
    }
}

#[cfg(test)]
impl Callee {
    /// A callee that asked for nothing and announced nothing, for tests.
    pub(crate) fn plain(session: Id) -> Self {
        Callee {
            session,
            disclose_caller: false,
            forward_timeout: false,
            features: Default::default(),
            node: Default::default(),
            joined: 0,
            concurrency: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callee(session: Id) -> Callee {
        Callee::plain(session)
    }

    /// No callee has an invocation in flight.
    const IDLE: fn(Id, Id) -> u32 = |_, _| 0;

    #[test]
    fn callees_at_their_concurrency_are_passed_over() {
        use std::cell::RefCell;
        let ids = wamp_runtime::proto::IdSequence::new();
        let exact = MatchPolicy::Exact;
        let limited = |session, concurrency| Callee {
            concurrency,
            ..callee(session)
        };
        // Invocations in flight by callee, as the calls table would count them.
        let busy: RefCell<HashMap<Id, u32>> = RefCell::default();
        let count = |c: Id, _r: Id| busy.borrow().get(&c).copied().unwrap_or(0);
        for invoke in [
            Invoke::RoundRobin,
            Invoke::First,
            Invoke::Last,
            Invoke::Random,
        ] {
            let mut d = Dealer::default();
            let uri = "p";
            d.register(|| ids.next_id(), uri, exact, invoke, limited(1, 1))
                .unwrap();
            d.register(|| ids.next_id(), uri, exact, invoke, limited(2, 2))
                .unwrap();
            busy.borrow_mut().clear();
            let mut served = Vec::new();
            for _ in 0..3 {
                let c = d.route(uri, &count).unwrap().callee.session;
                *busy.borrow_mut().entry(c).or_default() += 1;
                served.push(c);
            }
            served.sort_unstable();
            assert_eq!(served, [1, 2, 2], "{invoke:?}: each up to its limit");
            assert_eq!(
                d.route(uri, &count).err(),
                Some(NoRoute::AtLimit {
                    shared: true,
                    concurrency: 2
                }),
                "{invoke:?}: all at their limit"
            );
            // One invocation of callee 1 ends: it is the one free.
            *busy.borrow_mut().entry(1).or_default() -= 1;
            assert_eq!(d.route(uri, &count).unwrap().callee.session, 1);
        }
        let mut d = Dealer::default();
        d.register(|| ids.next_id(), "s", exact, Invoke::Single, limited(1, 1))
            .unwrap();
        busy.borrow_mut().insert(1, 1);
        assert_eq!(
            d.route("s", &count).err(),
            Some(NoRoute::AtLimit {
                shared: false,
                concurrency: 1
            })
        );
        assert_eq!(d.route("t", &count).err(), Some(NoRoute::NoCallee));
        // Without a limit the count is never asked for.
        d.register(|| ids.next_id(), "u", exact, Invoke::Single, callee(3))
            .unwrap();
        assert!(d.route("u", &|_, _| unreachable!()).is_ok());
    }

    #[test]
    fn register_and_leave() {
        let ids = wamp_runtime::proto::IdSequence::new();
        let mut d = Dealer::default();
        let exact = MatchPolicy::Exact;
        let (r, created) = d
            .register(
                || ids.next_id(),
                "com.add",
                exact,
                Invoke::Single,
                callee(7),
            )
            .expect("registers");
        assert!(created);
        assert_eq!(
            d.register(
                || ids.next_id(),
                "com.add",
                exact,
                Invoke::Single,
                callee(8)
            ),
            Err(RegisterError::AlreadyExists)
        );
        assert_eq!(d.unregister(8, r), None);
        assert_eq!(d.remove_session(7), vec![(r, true)]);
        assert!(d.route("com.add", &IDLE).ok().is_none());
        assert_eq!(d.registrations_of(7), 0);
    }

    #[test]
    fn shared_registrations_follow_their_policy() {
        let ids = wamp_runtime::proto::IdSequence::new();
        let mut d = Dealer::default();
        let exact = MatchPolicy::Exact;
        let (a, _) = d
            .register(|| ids.next_id(), "p", exact, Invoke::RoundRobin, callee(1))
            .unwrap();
        let (b, created) = d
            .register(|| ids.next_id(), "p", exact, Invoke::RoundRobin, callee(2))
            .unwrap();
        assert_eq!(a, b, "one registration, two callees");
        assert!(!created);
        assert_eq!(
            d.register(|| ids.next_id(), "p", exact, Invoke::Last, callee(3)),
            Err(RegisterError::DifferentPolicy(Invoke::RoundRobin)),
            "another policy is refused"
        );
        assert_eq!(
            d.register(|| ids.next_id(), "p", exact, Invoke::Single, callee(3)),
            Err(RegisterError::DifferentPolicy(Invoke::RoundRobin)),
            "single on a shared registration is another policy"
        );
        assert_eq!(
            d.register(|| ids.next_id(), "p", exact, Invoke::RoundRobin, callee(2)),
            Err(RegisterError::AlreadyExists),
            "the same session twice is refused"
        );
        let order: Vec<Id> = (0..4)
            .map(|_| d.route("p", &IDLE).ok().unwrap().callee.session)
            .collect();
        assert_eq!(order, [1, 2, 1, 2]);
        assert_eq!(d.unregister(1, a), Some(false));
        assert_eq!(d.route("p", &IDLE).ok().unwrap().callee.session, 2);
        assert_eq!(d.unregister(2, a), Some(true));
        assert!(d.route("p", &IDLE).ok().is_none());

        let f = d
            .register(|| ids.next_id(), "q", exact, Invoke::First, callee(1))
            .unwrap();
        d.register(|| ids.next_id(), "q", exact, Invoke::First, callee(2))
            .unwrap();
        assert_eq!(d.route("q", &IDLE).ok().unwrap().callee.session, 1);
        let l = d
            .register(|| ids.next_id(), "r", exact, Invoke::Last, callee(1))
            .unwrap();
        d.register(|| ids.next_id(), "r", exact, Invoke::Last, callee(2))
            .unwrap();
        assert_eq!(d.route("r", &IDLE).ok().unwrap().callee.session, 2);
        assert_ne!(f, l);
        d.register(|| ids.next_id(), "s", exact, Invoke::Random, callee(1))
            .unwrap();
        d.register(|| ids.next_id(), "s", exact, Invoke::Random, callee(2))
            .unwrap();
        assert!([1, 2].contains(&d.route("s", &IDLE).ok().unwrap().callee.session));
    }

    #[test]
    fn exact_beats_longest_prefix_beats_wildcard() {
        let ids = wamp_runtime::proto::IdSequence::new();
        let mut d = Dealer::default();
        let single = Invoke::Single;
        d.register(
            || ids.next_id(),
            "a.b",
            MatchPolicy::Prefix,
            single,
            callee(1),
        )
        .unwrap();
        d.register(
            || ids.next_id(),
            "a.b.c",
            MatchPolicy::Prefix,
            single,
            callee(2),
        )
        .unwrap();
        d.register(
            || ids.next_id(),
            "a..c.d",
            MatchPolicy::Wildcard,
            single,
            callee(3),
        )
        .unwrap();
        d.register(
            || ids.next_id(),
            "...d",
            MatchPolicy::Wildcard,
            single,
            callee(4),
        )
        .unwrap();
        d.register(
            || ids.next_id(),
            "a.b.c.d",
            MatchPolicy::Exact,
            single,
            callee(5),
        )
        .unwrap();
        let to = |d: &mut Dealer, p: &str| {
            d.route(p, &IDLE)
                .ok()
                .map(|r| (r.callee.session, r.pattern))
        };
        assert_eq!(to(&mut d, "a.b.c.d"), Some((5, false)));
        assert_eq!(to(&mut d, "a.b.c.e"), Some((2, true)));
        assert_eq!(to(&mut d, "a.b.x"), Some((1, true)));
        assert_eq!(to(&mut d, "a.x.c.d"), Some((3, true)));
        assert_eq!(to(&mut d, "x.y.z.d"), Some((4, true)));
        assert_eq!(to(&mut d, "x.y"), None);
    }

    #[test]
    fn a_mirror_keeps_new_local_callees_and_drops_those_taken_off() {
        let exact = MatchPolicy::Exact;
        let remote = |session| Callee {
            node: crate::cluster::NodeRef::test(1),
            ..callee(session)
        };
        let mut d = Dealer::default();
        // This node's callee 7 joins at revision 10, with a callee of another node first.
        let m = d.mirror(
            "p",
            exact,
            Invoke::First,
            5,
            10,
            vec![remote(1), callee(7)],
            Some(7),
        );
        assert!(m.exists && m.removed.is_empty());
        assert_eq!(d.route("p", &IDLE).ok().map(|r| r.callee.session), Some(1));
        // An older version without 7 (the record did not know it yet) keeps it.
        let m = d.mirror("p", exact, Invoke::First, 5, 9, vec![remote(1)], None);
        assert!(m.removed.is_empty() && d.registrations_of(7) == 1);
        // A newer one without it: another node took it off.
        let m = d.mirror("p", exact, Invoke::First, 5, 11, vec![remote(1)], None);
        assert_eq!(m.removed, vec![7]);
        assert_eq!(d.registrations_of(7), 0);
        // A new ID (force_reregister elsewhere): the old registration goes.
        let m = d.mirror("p", exact, Invoke::Single, 12, 12, vec![remote(2)], None);
        assert_eq!((m.exists, m.old), (true, Some(5)));
        assert_eq!(d.lookup("p", exact), Some(12));
        assert_eq!(d.remove_node(crate::cluster::NodeRef::test(1)), vec![12]);
        assert_eq!(
            d.lookup("p", exact),
            None,
            "its node left with its last callee"
        );
    }
}
