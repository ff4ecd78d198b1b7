//! The in-process transport: sessions of the same program join through channels, with no
//! socket and no serialization, and are served exactly like remote ones.

use std::sync::Arc;

use wamp_runtime::proto::Message;
use wamp_runtime::transport::memory::{self, RouterEnd};
use wamp_runtime::transport::{BoxFuture, ConnectOptions, Connector, Transport, TransportError};

use super::connection::{self, Inbound, Incoming, WriteStopped};
use super::settings::{ConnectionInfo, ListenerContext};
use crate::outbox::{Outbound, OutboxReceiver};
use crate::session::Session;
use crate::RouterInner;

/// How many messages each direction of an in-process connection buffers.
const CAPACITY: usize = 256;

/// Opens in-process connections to a router.
pub(crate) struct LocalConnector {
    pub router: Arc<RouterInner>,
    /// The router's own sessions: they join without authentication as role `trusted`.
    pub trusted: bool,
}

impl Connector for LocalConnector {
    fn connect(&self, _: &ConnectOptions) -> BoxFuture<'static, Result<Transport, TransportError>> {
        let router = self.router.clone();
        let trusted = self.trusted;
        Box::pin(async move {
            if router.shutdown.is_cancelled() {
                return Err(TransportError::Connect {
                    url: "in-process".into(),
                    reason: "the router is shut down".into(),
                });
            }
            let (transport, end) = memory::pair(CAPACITY);
            let tracked = router.clone();
            let span = super::connection::session_span("in-process");
            tracked.tasks.spawn(tracing::Instrument::instrument(
                serve(end, router, trusted),
                span,
            ));
            Ok(transport)
        })
    }

    fn describe(&self) -> String {
        "in-process".into()
    }
}

struct MemoryInbound(tokio::sync::mpsc::Receiver<Message>);

impl Inbound for MemoryInbound {
    async fn next(&mut self) -> Incoming {
        match self.0.recv().await {
            Some(m) => Incoming::Message(m),
            None => Incoming::Closed,
        }
    }
}

async fn serve(end: RouterEnd, router: Arc<RouterInner>, trusted: bool) {
    tracing::debug!("in-process connection opened");
    let (out, rx, kill) = connection::open(&router);
    let writer = tokio::spawn(tracing::Instrument::in_current_span(write_loop(
        end.outgoing,
        rx,
        router.clone(),
    )));
    let max = router.config.max_message_size;
    let conn = ConnectionInfo {
        listener: Arc::new(ListenerContext::in_process(max, trusted)),
        channel_binding: None,
        peer: "in-process".into(),
    };
    let inbound = MemoryInbound(end.incoming);
    let session = Session::new(router.clone(), None, out, conn);
    connection::drive(router, session, inbound, kill, writer).await;
    tracing::debug!("in-process connection closed");
}

async fn write_loop(
    to_session: tokio::sync::mpsc::Sender<Result<Message, TransportError>>,
    mut rx: OutboxReceiver,
    router: Arc<RouterInner>,
) {
    let timeout = router.config.write_timeout;
    loop {
        let msg = match rx.recv().await {
            Some(Outbound::Message(m)) => *m,
            // Pre-encoded events go to peers with a serializer only; nothing sends
            // transport frames to an in-process peer.
            Some(Outbound::Event(_) | Outbound::Control(_)) => continue,
            None => return,
        };
        let send = std::pin::pin!(to_session.send(Ok(msg)));
        match connection::bounded_write(send, timeout, rx.hung_up()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(WriteStopped::Killed) => return,
            Err(WriteStopped::TimedOut) => return connection::too_slow(&router, &rx),
        }
    }
}
