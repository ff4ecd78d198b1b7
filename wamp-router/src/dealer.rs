//! The dealer's registration index and its table of calls in flight.
//!
//! It only decides (which callee gets a call, which caller a result belongs to); the realm
//! delivers. Every pending call is keyed by the invocation request ID the dealer gave it.

use std::collections::HashMap;

use wamp_runtime::proto::{Id, IdSequence};

/// One registration: a procedure and the session that serves it.
#[derive(Debug)]
pub(crate) struct Registration {
    pub procedure: String,
    pub callee: Id,
    /// Whether invocations tell the callee who called (`disclose_caller`).
    pub disclose_caller: bool,
}

/// A call in flight.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub caller: Id,
    pub caller_request: Id,
    pub callee: Id,
    pub receive_progress: bool,
}

/// Why a registration was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    AlreadyExists,
}

/// The registration index and pending calls of one realm.
#[derive(Debug, Default)]
pub(crate) struct Dealer {
    regs: HashMap<Id, Registration>,
    by_procedure: HashMap<String, Id>,
    pending: HashMap<Id, Pending>,
    invocation_ids: IdSequence,
}

impl Dealer {
    /// Registers `procedure` for `callee`.
    pub fn register(
        &mut self,
        ids: &IdSequence,
        callee: Id,
        procedure: &str,
        disclose_caller: bool,
    ) -> Result<Id, RegisterError> {
        if self.by_procedure.contains_key(procedure) {
            return Err(RegisterError::AlreadyExists);
        }
        let id = ids.next_id();
        self.by_procedure.insert(procedure.to_owned(), id);
        self.regs.insert(
            id,
            Registration {
                procedure: procedure.to_owned(),
                callee,
                disclose_caller,
            },
        );
        Ok(id)
    }

    /// Removes registration `id` if `callee` owns it.
    pub fn unregister(&mut self, callee: Id, id: Id) -> bool {
        match self.regs.get(&id) {
            Some(r) if r.callee == callee => {
                if let Some(r) = self.regs.remove(&id) {
                    self.by_procedure.remove(&r.procedure);
                }
                true
            }
            _ => false,
        }
    }

    /// The registration serving `procedure`.
    pub fn lookup(&self, procedure: &str) -> Option<(Id, &Registration)> {
        let id = *self.by_procedure.get(procedure)?;
        self.regs.get(&id).map(|r| (id, r))
    }

    /// Records a call in flight and returns the invocation request ID for the callee.
    pub fn start_call(&mut self, pending: Pending) -> Id {
        let id = self.invocation_ids.next_id();
        self.pending.insert(id, pending);
        id
    }

    /// The pending call that `callee`'s invocation `request` belongs to.
    pub fn pending(&self, callee: Id, request: Id) -> Option<&Pending> {
        self.pending.get(&request).filter(|p| p.callee == callee)
    }

    /// Ends the pending call that `callee`'s invocation `request` belongs to.
    pub fn finish_call(&mut self, callee: Id, request: Id) -> Option<Pending> {
        self.pending(callee, request)?;
        self.pending.remove(&request)
    }

    /// Removes a leaving session's registrations and every call it takes part in. Returns
    /// the calls it was serving (their callers must hear of it) and the invocations it was
    /// waiting on as a caller.
    pub fn remove_session(&mut self, session: Id) -> (Vec<Pending>, Vec<(Id, Pending)>) {
        let mine: Vec<Id> = self
            .regs
            .iter()
            .filter(|(_, r)| r.callee == session)
            .map(|(id, _)| *id)
            .collect();
        for id in mine {
            self.unregister(session, id);
        }
        let mut served = Vec::new();
        let mut called = Vec::new();
        self.pending.retain(|inv, p| {
            if p.callee == session {
                served.push(p.clone());
                false
            } else if p.caller == session {
                called.push((*inv, p.clone()));
                false
            } else {
                true
            }
        });
        (served, called)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_call_and_leave() {
        let ids = IdSequence::new();
        let mut d = Dealer::default();
        let r = d.register(&ids, 7, "com.add", false).expect("registers");
        assert_eq!(
            d.register(&ids, 8, "com.add", false),
            Err(RegisterError::AlreadyExists)
        );
        assert!(!d.unregister(8, r));
        let inv = d.start_call(Pending {
            caller: 1,
            caller_request: 5,
            callee: 7,
            receive_progress: false,
        });
        assert!(d.pending(8, inv).is_none());
        let (served, called) = d.remove_session(7);
        assert_eq!(served.len(), 1);
        assert!(called.is_empty());
        assert!(d.lookup("com.add").is_none());
    }
}
