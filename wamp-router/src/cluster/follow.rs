//! What a node follows from the shared buckets into its realms: the registration
//! records into the dealer tables, the retained events into the brokers. (The
//! subscription records go into the per-realm indexes of [`super::interest`].)

use super::{envelope, inbound, registry, Node};

impl Node {
    /// Follows the registration records into the realms' dealer tables.
    pub(super) async fn follow_registrations(&self, ready: tokio::sync::oneshot::Sender<()>) {
        let restarts = self.restarts.subscribe();
        let reset = || {
            self.registry.reset();
            for realm in self.realms() {
                realm.forget_remote_callees(self.node_refs());
            }
        };
        self.registry
            .records
            .clone()
            .follow(ready, restarts, reset, |entry| {
                let record = match entry.operation {
                    async_nats::jetstream::kv::Operation::Put => {
                        match serde_json::from_slice::<registry::Record>(&entry.value) {
                            Ok(r) => Some(r),
                            Err(e) => {
                                tracing::warn!(
                                    key = entry.key,
                                    "cluster: unreadable registration: {e}"
                                );
                                None
                            }
                        }
                    }
                    _ => None,
                };
                let old = self.registry.saw(&entry.key, record.as_ref());
                if let Some(r) = &record {
                    for c in &r.callees {
                        self.members.named(&c.node);
                    }
                }
                let Some(shown) = record.as_ref().or(old.as_ref()) else {
                    self.registry.watched(entry.revision);
                    return;
                };
                if let Some(realm) = self.realm(&shown.realm) {
                    let mirror = self.mirror_of(shown, record.is_some(), entry.revision);
                    realm.mirror_registration(&self.registry, &entry.key, entry.revision, &mirror);
                }
                self.registry.watched(entry.revision);
            })
            .await;
    }

    /// Follows the retained events into the realms' brokers.
    pub(super) async fn follow_retained(&self, ready: tokio::sync::oneshot::Sender<()>) {
        let restarts = self.restarts.subscribe();
        self.retained
            .clone()
            .follow(
                ready,
                restarts,
                || {},
                |entry| {
                    if entry.operation != async_nats::jetstream::kv::Operation::Put {
                        return;
                    }
                    let event = envelope::Envelope::decode(entry.value.clone());
                    let event = event.and_then(|e| {
                        let mut r = e.fields();
                        let realm = r.text()?.to_owned();
                        Ok((realm, inbound::remote_event(&mut r, e.payload.clone())?))
                    });
                    match event {
                        Ok((realm, event)) => {
                            if let Some(realm) = self.realm(&realm) {
                                realm.mirror_retained(event);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(
                                key = entry.key,
                                "cluster: unreadable retained event: {e}"
                            )
                        }
                    }
                },
            )
            .await;
    }

    /// A record as a dealer table takes it (`present: false`, a deleted one: no callees).
    pub(super) fn mirror_of(
        &self,
        r: &registry::Record,
        present: bool,
        revision: u64,
    ) -> registry::Mirror {
        let callees = if present {
            let callees = r.callees.iter();
            callees.map(|c| c.callee(self.node_ref(&c.node))).collect()
        } else {
            Vec::new()
        };
        registry::Mirror {
            procedure: r.uri.clone(),
            policy: r.policy(),
            invoke: r.invoke(),
            id: r.id.unwrap_or(revision),
            revision,
            callees,
        }
    }
}
