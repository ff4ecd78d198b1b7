//! The WebSocket transport: the accept loop, the opening handshake on the request head the
//! listener read, and the two tasks of each connection (one reads and drives the session,
//! one writes). The frames are read and written here rather than through a WebSocket
//! library: a library's connection keeps its read and write buffers for as long as it
//! lives, and with tens of thousands of idle sessions those buffers would be most of a
//! router's memory; here an idle connection holds none.

mod frame;
mod handshake;
mod reader;
mod writer;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::connection::{self, Io};
use super::settings::{ConnectionInfo, ConnectionSlot, ListenerContext};
use super::web;
use crate::session::Session;
use crate::RouterInner;

/// Accepts WebSocket connections (over TLS with `tls`) until the router shuts down.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Arc<RouterInner>,
    ctx: Arc<ListenerContext>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    connection::accept_tcp(listener, router, ctx, tls, serve::<Box<dyn Io>>).await;
}

async fn serve<S>(mut stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // RawSocket on the same port: its handshake opens with 0x7F, HTTP with a letter.
    if let Some(raw) = conn.listener.rawsocket.clone() {
        use tokio::io::AsyncReadExt;
        let mut first = [0u8; 1];
        let read = stream.read_exact(&mut first);
        if !matches!(
            tokio::time::timeout(router.config.hello_timeout, read).await,
            Ok(Ok(_))
        ) {
            return tracing::debug!("nothing received in time");
        }
        let stream = web::Prefixed::new(first.to_vec(), stream);
        if first[0] == 0x7f {
            let conn = ConnectionInfo {
                listener: raw,
                ..conn
            };
            return Box::pin(super::rawsocket::serve(stream, conn, router)).await;
        }
        return Box::pin(serve_http(stream, conn, router)).await;
    }
    serve_http(stream, conn, router).await;
}

/// Reads a request head: a WebSocket upgrade goes on to WAMP, anything else to plain HTTP
/// (long-poll, files, or a short answer). Everything before the session runs is boxed and
/// freed once done: only the session's own state stays for the life of the connection.
async fn serve_http<S>(stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    if let Some(upgraded) = Box::pin(upgrade(stream, conn, &router)).await {
        run(upgraded, router);
    }
}

/// A connection past its opening handshake.
struct Upgraded<S> {
    stream: S,
    /// Bytes that came after the upgrade request.
    early: Vec<u8>,
    serializer: wamp_runtime::Serializer,
    conn: ConnectionInfo,
    slot: ConnectionSlot,
}

/// The request head and, for a WebSocket upgrade, the opening handshake; `None` when the
/// connection was answered in HTTP (or not at all) instead.
async fn upgrade<S>(
    mut stream: S,
    conn: ConnectionInfo,
    router: &Arc<RouterInner>,
) -> Option<Upgraded<S>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let deadline = router.config.hello_timeout;
    let read = web::read_head(&mut stream);
    let Ok(Some(head)) = tokio::time::timeout(deadline, read).await else {
        tracing::debug!("no HTTP request head in time");
        return None;
    };
    if !head.upgrade {
        Box::pin(plain_http(stream, head, conn, router.clone())).await;
        return None;
    }
    let Some(ctx) = conn.listener.for_upgrade(&head.path) else {
        let _ = tokio::time::timeout(deadline, web::not_found(&mut stream)).await;
        return None;
    };
    let slot = ctx.admit();
    let accepted = match handshake::answer(&head, &ctx, slot.is_some()) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            tracing::debug!("WebSocket upgrade refused");
            let answer = async {
                stream.write_all(&refusal).await?;
                stream.shutdown().await
            };
            let _ = tokio::time::timeout(deadline, answer).await;
            return None;
        }
    };
    let sent = stream.write_all(&accepted.response);
    if !matches!(tokio::time::timeout(deadline, sent).await, Ok(Ok(()))) {
        tracing::debug!("WebSocket handshake response not sent in time");
        return None;
    }
    let mut early = head.bytes;
    early.drain(..head.body_start.min(early.len()));
    Some(Upgraded {
        stream,
        early,
        serializer: accepted.serializer,
        conn: ConnectionInfo {
            listener: ctx,
            ..conn
        },
        slot: slot?,
    })
}

/// Starts the WAMP session of an upgraded connection: one task reads and drives it, a
/// second one writes.
fn run<S>(upgraded: Upgraded<S>, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let Upgraded {
        stream,
        early,
        serializer,
        conn,
        slot,
    } = upgraded;
    let (rd, wr) = tokio::io::split(stream);
    let (out, rx, kill) = connection::open(&router);
    let writer = tokio::spawn(tracing::Instrument::in_current_span(writer::write_loop(
        wr,
        rx,
        serializer,
        router.clone(),
    )));
    let max = conn.listener.max_message_size;
    let stats = router.stats.clone();
    let inbound = reader::WsInbound::new(rd, &early, serializer, max, stats, out.clone());
    drop(early);
    let session = Session::new(router.clone(), Some(serializer), out, conn);
    let session = connection::drive(router.clone(), session, inbound, kill, writer);
    connection::detach(&router, session, slot);
}

/// A request that is not a WebSocket upgrade: long-poll, a static file, or a short answer.
async fn plain_http<S>(
    mut stream: S,
    head: web::Head,
    conn: ConnectionInfo,
    router: Arc<RouterInner>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    if let Some((lp, rest)) = conn.listener.for_longpoll(&head.path) {
        let rest = rest.to_owned();
        super::longpoll::serve(stream, head, &rest, lp, conn, router).await;
        return;
    }
    let answer = web::answer(&mut stream, &head, conn.listener.for_files(&head.path));
    let _ = tokio::time::timeout(router.config.hello_timeout, answer).await;
}
