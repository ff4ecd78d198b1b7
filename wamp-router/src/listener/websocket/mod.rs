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
use super::settings::{ConnectionInfo, ListenerContext};
use super::web;
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
/// (long-poll, files, or a short answer). Only the WAMP session stays in this future's
/// state for the life of the connection: the other paths are boxed.
async fn serve_http<S>(mut stream: S, conn: ConnectionInfo, router: Arc<RouterInner>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let deadline = router.config.hello_timeout;
    let read = Box::pin(web::read_head(&mut stream));
    let Ok(Some(head)) = tokio::time::timeout(deadline, read).await else {
        return tracing::debug!("no HTTP request head in time");
    };
    if !head.upgrade {
        return Box::pin(plain_http(stream, head, conn, router)).await;
    }
    let Some(ctx) = conn.listener.for_upgrade(&head.path) else {
        let answer = Box::pin(web::not_found(&mut stream));
        let _ = tokio::time::timeout(deadline, answer).await;
        return;
    };
    let conn = ConnectionInfo {
        listener: ctx.clone(),
        ..conn
    };
    let slot = ctx.admit();
    let accepted = match handshake::answer(&head, &ctx, slot.is_some()) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            tracing::debug!("WebSocket upgrade refused");
            let answer = Box::pin(async {
                stream.write_all(&refusal).await?;
                stream.shutdown().await
            });
            let _ = tokio::time::timeout(deadline, answer).await;
            return;
        }
    };
    let sent = Box::pin(stream.write_all(&accepted.response));
    if !matches!(tokio::time::timeout(deadline, sent).await, Ok(Ok(()))) {
        return tracing::debug!("WebSocket handshake response not sent in time");
    }
    let early = head.bytes.get(head.body_start..).unwrap_or_default();
    let (rd, wr) = tokio::io::split(stream);
    let serializer = accepted.serializer;
    let (out, rx, kill) = connection::open(&router);
    let writer = tokio::spawn(tracing::Instrument::in_current_span(writer::write_loop(
        wr,
        rx,
        serializer,
        kill.clone(),
        router.clone(),
    )));
    let max = ctx.max_message_size;
    let stats = router.stats.clone();
    let inbound = reader::WsInbound::new(rd, early, serializer, max, stats, out.clone());
    drop(head);
    connection::drive(router, Some(serializer), conn, inbound, out, kill, writer).await;
    drop(slot);
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
