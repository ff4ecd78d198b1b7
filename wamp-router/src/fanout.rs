//! One publication to many subscribers: the EVENT of a subscription is encoded once per
//! serializer and its bytes shared by the queues of every subscriber that speaks it; the
//! payload is transcoded once per serializer for the whole publication. The realm decides
//! who receives what; this is where it is encoded, and counted.

use foldhash::{HashMap, HashMapExt};

use bytes::Bytes;
use wamp_runtime::proto::{Dict, Id, Message, Payload};
use wamp_runtime::serializer::EncodeError;
use wamp_runtime::Serializer;

use crate::metrics::Stats;
use crate::outbox::Outbox;

/// A publication on its way to its subscriptions.
pub(crate) struct FanOut<'a> {
    payload: &'a Payload,
    publication: Id,
    stats: &'a Stats,
    /// The payload as each serializer needs it, transcoded at most once.
    payloads: HashMap<Serializer, Payload>,
}

/// The EVENT of one subscription of a [`FanOut`]: the same message for each subscriber.
pub(crate) struct SubscriptionEvent<'f, 'a> {
    fanout: &'f mut FanOut<'a>,
    subscription: Id,
    details: Dict,
    /// The encoded EVENT for each serializer so far.
    frames: HashMap<Serializer, Bytes>,
}

impl<'a> FanOut<'a> {
    pub fn new(payload: &'a Payload, publication: Id, stats: &'a Stats) -> Self {
        Self {
            payload,
            publication,
            stats,
            payloads: HashMap::new(),
        }
    }

    /// The EVENT of `subscription`, with `details`.
    pub fn subscription(&mut self, subscription: Id, details: Dict) -> SubscriptionEvent<'_, 'a> {
        SubscriptionEvent {
            fanout: self,
            subscription,
            details,
            frames: HashMap::new(),
        }
    }

    /// The payload for a peer of `serializer`.
    fn payload_for(&mut self, serializer: Serializer) -> Result<Payload, EncodeError> {
        if let Some(p) = self.payloads.get(&serializer) {
            return Ok(p.clone());
        }
        let p = self.payload.encoded_for(serializer)?;
        self.stats.count_payload(self.payload, serializer);
        self.payloads.insert(serializer, p.clone());
        Ok(p)
    }
}

impl SubscriptionEvent<'_, '_> {
    fn message(&self, payload: Payload) -> Message {
        Message::Event {
            subscription: self.subscription,
            publication: self.fanout.publication,
            details: self.details.clone(),
            payload,
        }
    }

    /// Queues the EVENT for `session`: as a message for an in-process session (`None`),
    /// else as the frame of its serializer, encoded the first time it is needed.
    pub fn send(
        &mut self,
        outbox: &Outbox,
        session: Id,
        serializer: Option<Serializer>,
    ) -> Result<(), EncodeError> {
        let Some(serializer) = serializer else {
            outbox.push(session, self.message(self.fanout.payload.clone()));
            return Ok(());
        };
        if let Some(f) = self.frames.get(&serializer) {
            outbox.push_event(session, f.clone());
            return Ok(());
        }
        let payload = self.fanout.payload_for(serializer)?;
        let frame = serializer.encode(&self.message(payload))?;
        self.frames.insert(serializer, frame.clone());
        outbox.push_event(session, frame);
        Ok(())
    }
}
