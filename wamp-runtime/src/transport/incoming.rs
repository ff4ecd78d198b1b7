//! [`Incoming`]: the messages a connection receives, read by the task that awaits them.
//!
//! A WebSocket or RawSocket connection decodes its frames in the reading task itself (the
//! session's): a message goes from the socket to its handler without a hop through
//! another task. An in-process connection hands over messages on a channel.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::TransportError;
use crate::proto::Message;

type Items = Pin<Box<dyn Stream<Item = Result<Message, TransportError>> + Send>>;

/// Messages from the router. It ends when the connection closes; an `Err` before the end
/// says why it broke.
pub struct Incoming {
    items: Items,
}

impl Incoming {
    /// The messages of `stream`.
    pub fn from_stream(
        stream: impl Stream<Item = Result<Message, TransportError>> + Send + 'static,
    ) -> Self {
        Self {
            items: Box::pin(stream),
        }
    }

    /// The next message: `None` once the connection closed.
    pub async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        self.items.next().await
    }

    /// Polls for the next message (see [`Incoming::recv`]).
    pub fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, TransportError>>> {
        self.items.as_mut().poll_next(cx)
    }
}

impl From<mpsc::Receiver<Result<Message, TransportError>>> for Incoming {
    fn from(mut rx: mpsc::Receiver<Result<Message, TransportError>>) -> Self {
        Self::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}
