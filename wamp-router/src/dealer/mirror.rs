//! A cluster's view of a registration applied to this node's table: the record's callees
//! (this node's and the other nodes'), and the callees of a node that left.

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

use super::{Callee, Dealer, Invoke, Registration};

/// What [`Dealer::mirror`] did.
#[derive(Debug, Default)]
pub(crate) struct Mirrored {
    /// The registration exists.
    pub exists: bool,
    /// This node's callees taken off it (by another node).
    pub removed: Vec<Id>,
    /// The registration's previous ID, when the record made a new one.
    pub old: Option<Id>,
}

impl Dealer {
    /// Makes the registration of `(policy, procedure)` what the cluster's record (at
    /// `revision`) says: its callees in the record's order. This node's callees are kept
    /// while they still serve it here (or are `joining`: then they joined at `revision`);
    /// those the record does not list are kept after them if they joined after it (the
    /// record does not know them yet), and taken off if they joined before (another node
    /// took them off: `force_reregister`, or a node taken as dead). No callee left: the
    /// registration goes.
    #[allow(clippy::too_many_arguments)]
    pub fn mirror(
        &mut self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        id: Id,
        revision: u64,
        record: Vec<Callee>,
        joining: Option<Id>,
    ) -> Mirrored {
        let current = self.index.get(policy, procedure);
        let here: Vec<Callee> = current
            .and_then(|id| self.regs.get(&id))
            .map(|r| {
                r.callees
                    .iter()
                    .filter(|c| c.node.is_local())
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let mut callees = Vec::with_capacity(record.len());
        for c in &record {
            if !c.node.is_local() {
                callees.push(*c);
            } else if joining == Some(c.session) {
                callees.push(Callee {
                    joined: revision,
                    ..*c
                });
            } else if let Some(h) = here.iter().find(|h| h.session == c.session) {
                callees.push(*h);
            }
        }
        let mut removed = Vec::new();
        for h in &here {
            if record.iter().any(|c| c.session == h.session) {
                continue;
            }
            if h.joined != 0 && h.joined < revision {
                removed.push(h.session);
            } else {
                callees.push(*h);
            }
        }
        // The registration keeps its ID unless the record made a new one (a
        // force_reregister): then the old one goes.
        let old = current.filter(|c| *c != id);
        if let Some(old) = current {
            for c in &here {
                let keep = old == id && callees.iter().any(|k| k.session == c.session);
                if !keep {
                    self.forget_callee(c.session, old);
                }
            }
            if old != id || callees.is_empty() {
                if let Some(r) = self.regs.remove(&old) {
                    self.index.remove(r.policy, &r.procedure);
                }
            }
        }
        if callees.is_empty() {
            return Mirrored {
                exists: false,
                removed,
                old,
            };
        }
        for c in callees.iter().filter(|c| c.node.is_local()) {
            self.by_session.entry(c.session).or_default().insert(id);
        }
        match self.regs.get_mut(&id) {
            Some(reg) => {
                reg.invoke = invoke;
                reg.callees = callees;
            }
            None => {
                self.index.insert(policy, procedure, id);
                let reg = Registration::new(procedure, policy, invoke, callees);
                self.regs.insert(id, reg);
            }
        }
        Mirrored {
            exists: true,
            removed,
            old,
        }
    }

    /// Takes every callee of `node` off every registration (it left the cluster): the
    /// registrations that went with them.
    pub fn remove_node(&mut self, node: crate::cluster::NodeRef) -> Vec<Id> {
        let mut gone = Vec::new();
        for (id, reg) in &mut self.regs {
            reg.callees.retain(|c| c.node != node);
            if reg.callees.is_empty() {
                gone.push(*id);
            }
        }
        for id in &gone {
            if let Some(r) = self.regs.remove(id) {
                self.index.remove(r.policy, &r.procedure);
            }
        }
        gone
    }
}
