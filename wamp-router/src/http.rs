//! The router's HTTP endpoint for operations: `GET /health` (liveness), `GET /ready`
//! (readiness: 503 once the router shuts down) and `GET /metrics` (the Prometheus text
//! format). A deliberately small HTTP/1.1 server: one request per connection, a bounded
//! request head read within a deadline, and an answer that closes the connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::RouterInner;

/// The longest request head read; a longer one gets 431.
const MAX_HEAD: usize = 8 * 1024;

/// Time a client has to send its request and take the answer.
const DEADLINE: Duration = Duration::from_secs(5);

/// Serves the endpoint until the router shuts down.
pub(crate) async fn serve(listener: TcpListener, router: Arc<RouterInner>) {
    let accept = || listener.accept();
    let label = "HTTP endpoint";
    crate::listener::connection::accept_until_shutdown(&router, label, accept, |(stream, _)| {
        let r = router.clone();
        router.tasks.spawn(async move {
            tokio::select! {
                _ = r.shutdown.cancelled() => {}
                done = tokio::time::timeout(DEADLINE, answer(stream, &r)) => {
                    if done.is_err() {
                        tracing::debug!("HTTP request not completed in time");
                    }
                }
            }
        });
    })
    .await;
}

/// Reads one request head and writes the answer.
async fn answer(mut stream: TcpStream, router: &RouterInner) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let complete = loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break true;
        }
        if head.len() > MAX_HEAD {
            break false;
        }
    };
    let (status, content_type, body) = if complete {
        route(&head, router)
    } else {
        (
            "431 Request Header Fields Too Large",
            "text/plain",
            String::new(),
        )
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    // Read what the client still sends (bounded) before closing: closing with unread
    // input would reset the connection and could discard the answer on its way.
    let mut drained = 0;
    while drained < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// The answer to a request head: status line, content type and body.
fn route(head: &[u8], router: &RouterInner) -> (&'static str, &'static str, String) {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != "GET" {
        return ("405 Method Not Allowed", TEXT, "use GET\n".into());
    }
    match path {
        "/health" => ("200 OK", TEXT, "ok\n".into()),
        "/ready" if router.shutdown.is_cancelled() => {
            ("503 Service Unavailable", TEXT, "shutting down\n".into())
        }
        "/ready" => ("200 OK", TEXT, "ready\n".into()),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            crate::metrics::render(router),
        ),
        _ => (
            "404 Not Found",
            TEXT,
            "try /health, /ready or /metrics\n".into(),
        ),
    }
}
