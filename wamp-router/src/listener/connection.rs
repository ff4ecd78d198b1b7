//! What every transport shares once a connection is open: the loop that feeds a session
//! the peer's messages (with the HELLO and GOODBYE deadlines), and the end of a
//! connection.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;
use wamp_runtime::proto::Message;

use super::settings::{ConnectionInfo, ListenerContext};
use crate::outbox::{outbox, Kill, Outbox, OutboxReceiver};
use crate::session::{Flow, Handled, Phase, Session};
use crate::RouterInner;

/// The next thing a peer sent.
pub(crate) enum Incoming {
    /// A decoded message.
    Message(Message),
    /// Something that ends the session with ABORT `wamp.error.protocol_violation`.
    Violation(String),
    /// The connection closed.
    Closed,
}

/// A connection's byte stream: TCP, or TLS over TCP.
pub(crate) trait Io:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static
{
}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Accepts TCP connections until the router shuts down, serving each with `serve` in a
/// task the router tracks; with `tls`, after a TLS handshake bounded by the HELLO timeout
/// (the connection's channel binding then goes into its [`ConnectionInfo`]).
pub(crate) async fn accept_tcp<F, Fut>(
    listener: tokio::net::TcpListener,
    router: Arc<RouterInner>,
    ctx: Arc<ListenerContext>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    serve: F,
) where
    F: Fn(Box<dyn Io>, ConnectionInfo, Arc<RouterInner>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accept = || listener.accept();
    accept_until_shutdown(&router, &ctx.label, accept, |(stream, addr)| {
        let _ = stream.set_nodelay(true);
        let peer = match addr {
            std::net::SocketAddr::V4(a) => format!("tcp4:{a}"),
            std::net::SocketAddr::V6(a) => format!("tcp6:{a}"),
        };
        let mut conn = ConnectionInfo {
            listener: ctx.clone(),
            channel_binding: None,
            peer,
        };
        let (serve, tls, r) = (serve.clone(), tls.clone(), router.clone());
        let span = session_span(&conn.peer);
        let task = async move {
            let label = conn.listener.label.clone();
            tracing::debug!(%addr, listener = %label, "connection accepted");
            let stream: Box<dyn Io> = match tls {
                None => Box::new(stream),
                Some(tls) => {
                    // Boxed: the TLS handshake's state is only needed until it is
                    // done, not for the life of the connection.
                    let handshake = Box::pin(tls.accept(stream));
                    match tokio::time::timeout(r.config.hello_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            conn.channel_binding = crate::tls::channel_binding(stream.get_ref().1);
                            Box::new(stream)
                        }
                        Ok(Err(e)) => return tracing::debug!(%addr, "TLS handshake failed: {e}"),
                        Err(_) => return tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                }
            };
            serve(stream, conn, r).await;
        };
        router.tasks.spawn(task.instrument(span));
    })
    .await;
}

/// Runs `accept` until the router shuts down, handing each connection to `on_accept`; a
/// failed accept (out of file descriptors, say) is logged and retried after a pause.
pub(crate) async fn accept_until_shutdown<T, Fut>(
    router: &RouterInner,
    what: &str,
    mut accept: impl FnMut() -> Fut,
    mut on_accept: impl FnMut(T),
) where
    Fut: Future<Output = std::io::Result<T>>,
{
    loop {
        let accepted = tokio::select! {
            _ = router.shutdown.cancelled() => break,
            a = accept() => a,
        };
        match accepted {
            Ok(connection) => on_accept(connection),
            Err(e) => {
                tracing::warn!(listener = %what, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The span every log line about one connection's session runs in: the peer's address
/// from the start, the session ID, realm, authid and authrole once it joins (see
/// [`record_session`]).
pub(crate) fn session_span(peer: &str) -> tracing::Span {
    tracing::info_span!(
        "session",
        peer = %peer,
        session = tracing::field::Empty,
        realm = tracing::field::Empty,
        authid = tracing::field::Empty,
        authrole = tracing::field::Empty,
    )
}

/// Fills the current session span's identity when a session joins.
pub(crate) fn record_session(
    id: wamp_runtime::proto::Id,
    realm: &str,
    authid: &str,
    authrole: &str,
) {
    let span = tracing::Span::current();
    span.record("session", id);
    span.record("realm", realm);
    span.record("authid", authid);
    span.record("authrole", authrole);
}

/// The reading side of a connection.
pub(crate) trait Inbound: Send {
    /// Waits for the next message; frames that carry none (pings) are skipped.
    fn next(&mut self) -> impl Future<Output = Incoming> + Send;
}

/// A new session's outbound queue, its receiver (for the writer), and the handle that
/// ends its connection.
pub(crate) fn open(router: &RouterInner) -> (Outbox, OutboxReceiver, Kill) {
    outbox(
        router.config.outbound_queue,
        router.config.slow_consumer,
        router.stats.clone(),
    )
}

/// Disconnects a peer whose write waited longer than the write timeout.
pub(crate) fn too_slow(router: &RouterInner, rx: &OutboxReceiver) {
    tracing::warn!(
        timeout = ?router.config.write_timeout,
        "disconnecting a peer that stopped reading its messages"
    );
    router
        .stats
        .slow_disconnects
        .fetch_add(1, Ordering::Relaxed);
    rx.hang_up();
}

/// How a bounded write ended short of completing.
pub(crate) enum WriteStopped {
    /// The connection hung up.
    Killed,
    /// The write waited longer than the write timeout.
    TimedOut,
}

/// Runs `write` to completion unless `killed` resolves first (the connection hung up:
/// [`OutboxReceiver::hung_up`]) or it takes longer than `timeout`. The first poll goes
/// straight to the write: a socket with room in its buffer completes at once, so the
/// common case arms no timer and registers no waiter. The write
/// comes pinned by the caller: taken by value, it would be kept twice in this future's
/// state (the argument, and the pinned copy), in every writer's task.
pub(crate) async fn bounded_write<F: Future>(
    mut write: std::pin::Pin<&mut F>,
    timeout: Duration,
    killed: impl Future<Output = ()>,
) -> Result<F::Output, WriteStopped> {
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(done) = first {
        return Ok(done);
    }
    // The slow path, boxed: its timer and waiter are not part of every writer's state.
    Box::pin(async {
        tokio::select! {
            () = killed => Err(WriteStopped::Killed),
            r = tokio::time::timeout(timeout, write) => r.map_err(|_| WriteStopped::TimedOut),
        }
    })
    .await
}

/// Runs an established connection's session in a task of its own, in the current span,
/// and returns: the task that accepted the connection and ran its handshake ends, and the
/// state it needed (the handshake's, and each layer's copy of its arguments) goes with it.
/// `hold` (the listener's connection slot) is released when the session ends.
pub(crate) fn detach<T: Send + 'static>(
    router: &RouterInner,
    session: impl Future<Output = ()> + Send + 'static,
    hold: T,
) {
    // A combinator, not an async block: a block would keep `session` twice (its capture
    // and the future it awaits).
    let task = futures_util::FutureExt::map(session, move |()| {
        drop(hold);
        tracing::debug!("connection closed");
    });
    router.tasks.spawn(task.in_current_span());
}

/// What the session loop does next with what came in.
enum Step<'a> {
    /// Read on (or close).
    Done(Flow),
    /// First finish this: a handshake step, a request that waits for other nodes or for
    /// an authorizer. Boxed, and made outside the loop's future: the loop's state (kept
    /// by every connection for as long as it lives) then holds neither the message nor
    /// the work's own state.
    Wait(std::pin::Pin<Box<dyn Future<Output = Flow> + Send + 'a>>),
    /// The connection closed.
    Closed,
}

fn step(session: &mut Session, incoming: Incoming) -> Step<'_> {
    match incoming {
        Incoming::Message(msg) => match session.handle(msg) {
            Handled::Done(flow) => Step::Done(flow),
            Handled::Handshake(msg) => Step::Wait(Box::pin(session.handshake(msg))),
            Handled::Wait(pending) => Step::Wait(Box::pin(async move {
                pending.finish().await;
                Flow::Continue
            })),
            Handled::Authorize(ask, msg) => Step::Wait(Box::pin(session.authorized(*ask, msg))),
        },
        Incoming::Violation(text) => Step::Done(session.violation(text)),
        Incoming::Closed => Step::Closed,
    }
}

/// Runs a session on a connection until either side ends it, then waits (bounded) for
/// `writer` to send what is queued.
///
/// The session is made by the caller: an argument this future moved elsewhere would keep
/// its room here as well, for as long as the connection lives.
// Not an async fn, on purpose (see the comment in the body).
#[allow(clippy::manual_async_fn)]
pub(crate) fn drive(
    router: Arc<RouterInner>,
    mut session: Session,
    mut inbound: impl Inbound,
    kill: Kill,
    writer: tokio::task::JoinHandle<()>,
) -> impl Future<Output = ()> + Send {
    // An async block rather than an async fn: an async fn keeps its arguments twice in
    // its state (as arguments, and moved into its body), for as long as the session runs.
    async move {
        // While a HELLO or an AUTHENTICATE is awaited: when it is due. While shutting down:
        // when GOODBYE is due.
        let mut deadline = None;
        let mut phase = Phase::Joined;
        let mut shutting_down = false;
        // Waiting on a token registers a waiter under a lock: this future lives across
        // messages rather than being made anew for each.
        let mut shutdown = std::pin::pin!(router.shutdown.clone().cancelled_owned());
        loop {
            if !shutting_down {
                let now = session.phase();
                if now != phase {
                    phase = now;
                    // Boxed: a joined session, the common case, keeps no timer.
                    deadline = match phase {
                        Phase::Hello => Some(router.config.hello_timeout),
                        Phase::Authenticating => Some(router.config.auth.timeout),
                        Phase::Joined => None,
                    }
                    .map(|t| Box::pin(tokio::time::sleep(t)));
                }
            }
            let sleep = async {
                match deadline.as_mut() {
                    Some(d) => d.await,
                    None => std::future::pending().await,
                }
            };
            let incoming = tokio::select! {
                incoming = inbound.next() => incoming,
                () = kill.ended() => break,
                _ = &mut shutdown, if !shutting_down => {
                    shutting_down = true;
                    if session.begin_shutdown() == Flow::Close {
                        break;
                    }
                    deadline = Some(Box::pin(tokio::time::sleep(router.config.goodbye_timeout)));
                    continue;
                }
                _ = sleep => {
                    if !shutting_down {
                        match phase {
                            Phase::Authenticating => {
                                let text = "no AUTHENTICATE received in time";
                                session.abort(wamp_runtime::proto::error::AUTHENTICATION_FAILED, text);
                            }
                            _ => {
                                session.violation("no HELLO received in time");
                            }
                        }
                    }
                    break;
                }
            };
            let flow = match step(&mut session, incoming) {
                Step::Done(flow) => flow,
                Step::Wait(work) => work.await,
                Step::Closed => break,
            };
            if flow == Flow::Close {
                break;
            }
        }
        session.leave();
        drop(session);
        // The reader may hold a sender of the outbound queue (for its transport's replies):
        // the writer ends once every sender is gone.
        drop(inbound);
        // The writer sends what is queued (an ABORT or GOODBYE) and closes; bounded in time.
        if Box::pin(tokio::time::timeout(Duration::from_secs(5), writer))
            .await
            .is_err()
        {
            kill.hang_up();
        }
    }
}
