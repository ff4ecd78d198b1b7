//! Binding one listener (TCP, TLS or a Unix socket, for WebSocket or RawSocket) and
//! spawning its accept loop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::listener::settings::{Kind, ListenerContext};
use crate::{listener, Listener, RouterError, RouterInner, ServerTls};

/// Binds one listener and spawns its accept loop.
pub(crate) async fn bind(
    l: &Listener,
    inner: &Arc<RouterInner>,
) -> Result<(BoundListener, tokio::task::JoinHandle<()>), RouterError> {
    let tls = l.tls.as_ref().map(ServerTls::acceptor);
    let scheme = |plain: &str, secure: &str| if tls.is_some() { secure } else { plain }.to_owned();
    match &l.kind {
        Kind::WebSocket(addr) | Kind::RawSocket(addr) => {
            let addr = *addr;
            let bind_error = |source| RouterError::Bind { addr, source };
            let socket = TcpListener::bind(addr).await.map_err(bind_error)?;
            let local = socket.local_addr().map_err(bind_error)?;
            let websocket = matches!(l.kind, Kind::WebSocket(_));
            let (kind, url) = if websocket {
                // A listener with paths is known by its first WebSocket one (else its
                // first path, over HTTP).
                let first_ws = l.paths.iter().find_map(|(p, e)| match e {
                    listener::settings::PathEndpoint::WebSocket(_) => Some(p.as_str()),
                    _ => None,
                });
                let url = match (first_ws, l.paths.first()) {
                    (Some(p), _) => format!("{}://{local}{p}", scheme("ws", "wss")),
                    (None, Some((p, _))) => format!("{}://{local}{p}", scheme("http", "https")),
                    (None, None) => format!("{}://{local}/ws", scheme("ws", "wss")),
                };
                ("WebSocket", url)
            } else {
                ("RawSocket", format!("{}://{local}", scheme("tcp", "tcps")))
            };
            let label = format!("{kind} {url}");
            let max = inner.config.max_message_size;
            let ctx = Arc::new(ListenerContext::new(l, label.clone(), max));
            tracing::info!(listener = %label, "listening");
            let task = if websocket {
                tokio::spawn(listener::websocket::accept_loop(
                    socket,
                    inner.clone(),
                    ctx,
                    tls,
                ))
            } else {
                tokio::spawn(listener::rawsocket::accept_tcp(
                    socket,
                    inner.clone(),
                    ctx,
                    tls,
                ))
            };
            let bound = BoundListener {
                url,
                addr: Some(local),
                websocket,
            };
            Ok((bound, task))
        }
        Kind::RawSocketUnix(path) => {
            #[cfg(unix)]
            {
                let _ = std::fs::remove_file(path);
                let socket = tokio::net::UnixListener::bind(path).map_err(|source| {
                    RouterError::BindUnix {
                        path: path.clone(),
                        source,
                    }
                })?;
                let url = format!("unix://{}", path.display());
                let label = format!("RawSocket {url}");
                let max = inner.config.max_message_size;
                let ctx = Arc::new(ListenerContext::new(l, label.clone(), max));
                tracing::info!(listener = %label, "listening");
                let task = tokio::spawn(listener::rawsocket::accept_unix(
                    socket,
                    path.clone(),
                    inner.clone(),
                    ctx,
                ));
                let bound = BoundListener {
                    url,
                    addr: None,
                    websocket: false,
                };
                Ok((bound, task))
            }
            #[cfg(not(unix))]
            Err(RouterError::Config(format!(
                "{}: Unix domain sockets need a Unix system",
                path.display()
            )))
        }
    }
}

/// A listener of a running router.
#[derive(Debug, Clone)]
pub(crate) struct BoundListener {
    pub url: String,
    pub addr: Option<SocketAddr>,
    pub websocket: bool,
}
