//! An in-process transport: two channel pairs between a session and a router in the same
//! program. Messages travel as values; nothing is serialized.

use tokio::sync::mpsc;

use super::{Transport, TransportError};
use crate::proto::Message;

/// The router's end of an in-process connection.
#[derive(Debug)]
pub struct RouterEnd {
    /// Messages from the session; the channel ends when the session closes the connection.
    pub incoming: mpsc::Receiver<Message>,
    /// Messages to the session. Dropping it closes the connection.
    pub outgoing: mpsc::Sender<Result<Message, TransportError>>,
}

/// A connected pair: the session's [`Transport`] and the router's [`RouterEnd`], each
/// direction buffering up to `capacity` messages.
pub fn pair(capacity: usize) -> (Transport, RouterEnd) {
    let (to_router, from_session) = mpsc::channel(capacity.max(1));
    let (to_session, from_router) = mpsc::channel(capacity.max(1));
    (
        Transport {
            outgoing: to_router,
            incoming: from_router.into(),
            serializer: None,
            channel_binding: None,
        },
        RouterEnd {
            incoming: from_session,
            outgoing: to_session,
        },
    )
}
