//! The cluster's registrations: one record per registration (realm, match policy,
//! procedure pattern) with its invocation policy and its callees on every node, in
//! registration order.
//!
//! A REGISTER writes the record with compare-and-set before it is answered: `single`
//! is a `create`, so of many sessions racing on several nodes exactly one wins; a shared
//! registration is joined only with its own policy. Its ID is drawn by the node that makes
//! the record (random in that node's share, as session IDs are) and kept in it, so the
//! record written again after a NATS restart keeps it.
//! Every node watches the bucket into its realms' dealer tables, so routing a call (the
//! invocation policy over the whole cluster's callees, exact before prefix before
//! wildcard) stays a local lookup.

use foldhash::{HashMap, HashMapExt};

use serde::{Deserialize, Serialize};
use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Id, InvokePolicy};

use super::store::{self, Edit, Records, StoreError};
use crate::dealer::{Callee, RegisterError};

/// A registration of the cluster, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub realm: String,
    pub uri: String,
    #[serde(rename = "match")]
    pub policy: String,
    pub invoke: String,
    /// The registration ID (absent only in records of older nodes: then the creating
    /// revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub callees: Vec<CalleeRecord>,
}

/// One callee of a registration, as stored: what a node routing a call to it must know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct CalleeRecord {
    pub node: String,
    pub session: Id,
    #[serde(default)]
    pub disclose_caller: bool,
    #[serde(default)]
    pub forward_timeout: bool,
    /// It handles INTERRUPT.
    #[serde(default)]
    pub cancels: bool,
    /// It accepts progressive call invocations.
    #[serde(default)]
    pub progressive: bool,
    /// It takes opaque payloads.
    #[serde(default)]
    pub passthru: bool,
    /// Its `concurrency` (0: no limit).
    #[serde(default)]
    pub concurrency: u32,
}

impl CalleeRecord {
    /// The record of a callee of this node.
    pub fn of(node: &str, c: &Callee) -> Self {
        Self {
            node: node.to_owned(),
            session: c.session,
            disclose_caller: c.disclose_caller,
            forward_timeout: c.forward_timeout,
            cancels: c.features.callee_cancels,
            progressive: c.features.progressive_calls.as_callee,
            passthru: c.features.passthru.callee,
            concurrency: c.concurrency,
        }
    }

    /// The callee for a dealer table, on `node`.
    pub fn callee(&self, node: super::NodeRef) -> Callee {
        let mut features = crate::realm::Features {
            callee_cancels: self.cancels,
            ..Default::default()
        };
        features.progressive_calls.as_callee = self.progressive;
        features.passthru.callee = self.passthru;
        Callee {
            session: self.session,
            disclose_caller: self.disclose_caller,
            forward_timeout: self.forward_timeout,
            features,
            node,
            joined: 0,
            concurrency: self.concurrency,
        }
    }
}

impl Record {
    pub fn policy(&self) -> MatchPolicy {
        MatchPolicy::parse(&self.policy).unwrap_or_default()
    }

    pub fn invoke(&self) -> InvokePolicy {
        InvokePolicy::parse(&self.invoke).unwrap_or_default()
    }
}

/// A registration as a dealer table takes it.
#[derive(Debug, Clone)]
pub(crate) struct Mirror {
    pub procedure: String,
    pub policy: MatchPolicy,
    pub invoke: InvokePolicy,
    pub id: Id,
    /// The record's revision.
    pub revision: u64,
    pub callees: Vec<Callee>,
}

/// How a callee joins a registration's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joining {
    /// A REGISTER.
    New,
    /// A REGISTER with `force_reregister`: the callee takes the registration over.
    Force,
    /// The node writes its callees again (NATS lost them); being there is no conflict.
    Again,
}

/// The callees a [`Registry::leave`] took off a registration.
#[derive(Debug)]
pub(crate) struct Left {
    pub realm: String,
    pub registration: Id,
    /// Their sessions, in the record's order.
    pub callees: Vec<Id>,
    /// They were the last: the registration went.
    pub deleted: bool,
}

/// Why a REGISTER could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JoinError {
    #[error("{0:?}")]
    Refused(RegisterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key of the record of `(realm, policy, uri)`.
pub(crate) fn key(realm: &str, policy: MatchPolicy, uri: &str) -> String {
    store::key(&[realm, policy.as_str(), uri])
}

/// This node's side of the registration records.
#[derive(Debug)]
pub(crate) struct Registry {
    pub records: Records,
    /// Every record as the watch last saw it, by key.
    seen: parking_lot::Mutex<HashMap<String, Record>>,
    /// The last revision applied to a dealer table, by key: an older one is not applied
    /// over a newer one.
    applied: parking_lot::Mutex<HashMap<String, u64>>,
    /// The last revision the watch applied.
    watched: store::Applied,
}

impl Registry {
    pub fn new(records: Records) -> Self {
        Self {
            records,
            seen: parking_lot::Mutex::new(HashMap::new()),
            applied: parking_lot::Mutex::new(HashMap::new()),
            watched: store::Applied::default(),
        }
    }

    /// Adds `callee` to the registration of `(realm, policy, uri)` under `invoke`, or
    /// creates it with ID `id` (`how` says when it takes it over, or is there already):
    /// the record written and its revision.
    #[allow(clippy::too_many_arguments)]
    pub async fn join(
        &self,
        realm: &str,
        policy: MatchPolicy,
        uri: &str,
        invoke: InvokePolicy,
        callee: CalleeRecord,
        gone: impl Fn(&str) -> bool,
        how: Joining,
        id: Id,
    ) -> Result<(Record, u64), JoinError> {
        let again = how == Joining::Again;
        let key = key(realm, policy, uri);
        let (outcome, written) = self
            .records
            .edit(&key, |current: Option<(Record, u64)>| match current {
                // What a gone node left behind is cleared on the way; force_reregister
                // takes the registration from whoever holds it.
                Some((r, _))
                    if how == Joining::Force || r.callees.iter().all(|c| gone(&c.node)) =>
                {
                    let mut r = r;
                    r.id = Some(id);
                    r.callees = vec![callee.clone()];
                    r.invoke = invoke.as_str().to_owned();
                    (Edit::Put(r.clone()), Ok(r))
                }
                Some((r, _)) if again && r.callees.contains(&callee) => (Edit::Keep, Ok(r)),
                Some((mut r, revision)) => {
                    r.callees.retain(|c| !gone(&c.node));
                    let existing = r.invoke();
                    if existing == InvokePolicy::Single
                        || r.callees.iter().any(|c| c.session == callee.session)
                    {
                        return (Edit::Keep, Err(RegisterError::AlreadyExists));
                    }
                    if existing != invoke {
                        return (Edit::Keep, Err(RegisterError::DifferentPolicy(existing)));
                    }
                    r.id = Some(r.id.unwrap_or(revision));
                    r.callees.push(callee.clone());
                    (Edit::Put(r.clone()), Ok(r))
                }
                None => {
                    let r = Record {
                        realm: realm.to_owned(),
                        uri: uri.to_owned(),
                        policy: policy.as_str().to_owned(),
                        invoke: invoke.as_str().to_owned(),
                        id: Some(id),
                        callees: vec![callee.clone()],
                    };
                    (Edit::Put(r.clone()), Ok(r))
                }
            })
            .await?;
        let mut record = outcome.map_err(JoinError::Refused)?;
        let revision = written.unwrap_or_default();
        record.id = Some(record.id.unwrap_or(revision));
        Ok((record, revision))
    }

    /// Takes `session` of `node` (every session of it: `None`) off the record of `key`:
    /// what this edit took off, if anything (of nodes racing to do it, one takes it).
    pub async fn leave(
        &self,
        key: &str,
        node: &str,
        session: Option<Id>,
    ) -> Result<Option<Left>, StoreError> {
        let (left, _) = self
            .records
            .edit(key, |current: Option<(Record, u64)>| {
                let Some((mut r, revision)) = current else {
                    return (Edit::Keep, None);
                };
                let (gone, kept): (Vec<CalleeRecord>, Vec<CalleeRecord>) =
                    std::mem::take(&mut r.callees)
                        .into_iter()
                        .partition(|c| c.node == node && session.is_none_or(|s| s == c.session));
                if gone.is_empty() {
                    return (Edit::Keep, None);
                }
                r.callees = kept;
                let id = r.id.unwrap_or(revision);
                r.id = Some(id);
                let left = Left {
                    realm: r.realm.clone(),
                    registration: id,
                    callees: gone.iter().map(|c| c.session).collect(),
                    deleted: r.callees.is_empty(),
                };
                match left.deleted {
                    true => (Edit::Delete, Some(left)),
                    false => (Edit::Put(r), Some(left)),
                }
            })
            .await?;
        Ok(left)
    }

    /// The keys of the records that name `node`.
    pub fn keys_of(&self, node: &str) -> Vec<String> {
        let seen = self.seen.lock();
        let named = seen
            .iter()
            .filter(|(_, r)| r.callees.iter().any(|c| c.node == node));
        named.map(|(k, _)| k.clone()).collect()
    }

    /// Whether revision `revision` of `key` is newer than what its dealer table holds (and
    /// so is applied now); call under the realm's lock.
    pub fn take_turn(&self, key: &str, revision: u64) -> bool {
        let mut applied = self.applied.lock();
        let last = applied.entry(key.to_owned()).or_default();
        if revision <= *last {
            return false;
        }
        *last = revision;
        true
    }

    /// Notes what the watch saw of `key` (`None`: deleted); the previous version.
    pub fn saw(&self, key: &str, record: Option<&Record>) -> Option<Record> {
        let mut seen = self.seen.lock();
        match record {
            Some(r) => seen.insert(key.to_owned(), r.clone()),
            None => seen.remove(key),
        }
    }

    /// The latest version of `key` the watch saw, and the revision applied for it.
    pub fn latest(&self, key: &str) -> Option<(Record, u64)> {
        let record = self.seen.lock().get(key).cloned()?;
        let revision = self.applied.lock().get(key).copied().unwrap_or_default();
        Some((record, revision))
    }

    /// Forgets every record (they are loaded again from the start).
    pub fn reset(&self) {
        self.seen.lock().clear();
        self.applied.lock().clear();
        self.watched.set(0);
    }

    /// The watch applied `revision`.
    pub fn watched(&self, revision: u64) {
        self.watched.set(revision);
    }

    /// Waits until the watch applied `revision` (bounded by `within`); false if not.
    pub async fn applied(&self, revision: u64, within: std::time::Duration) -> bool {
        self.watched.wait(revision, within).await
    }
}
