//! The HTTP long-poll transport (WAMP's fallback where WebSocket cannot pass): a path of a
//! WebSocket listener answers `POST <path>/open`, then `<path>/<transport>/send`,
//! `/receive` (held until a message is there, or a quiet while) and `/close`, with JSON
//! or MessagePack or CBOR, batched or not, and CORS for pages of other origins.
//!
//! Each transport is a session like any other: its messages go through the same session
//! loop and outbound queue; what the session sends waits here for the next `/receive`.
//! A transport no request touched for [`IDLE`] is closed, and its session leaves.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use wamp_runtime::Serializer;

use super::connection::{self, Inbound, Incoming};
use super::settings::{ConnectionInfo, ListenerContext};
use super::web::Head;
use crate::outbox::{Outbound, OutboxReceiver};
use crate::session::Session;
use crate::RouterInner;

/// How long a `/receive` is held when there is nothing to send (Autobahn|JS gives up on a
/// request after 12 s).
const HOLD: Duration = Duration::from_secs(10);
/// How long a transport lives without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(30);
/// Frames waiting for a `/receive`: past this the client is not polling, and the
/// transport closes.
const MAX_WAITING: usize = 4096;
/// Messages a `/send` may queue for the session before it answers 503.
const INBOUND: usize = 256;

/// One long-poll path: its settings and its open transports.
#[derive(Debug)]
pub(crate) struct LongPoll {
    /// The endpoint's settings (serializers, size limit, authentication, session limit).
    pub ctx: Arc<ListenerContext>,
    transports: parking_lot::Mutex<HashMap<String, Arc<Transport>>>,
}

/// One open transport.
#[derive(Debug)]
struct Transport {
    serializer: Serializer,
    batched: bool,
    /// To the session loop.
    inbound: mpsc::Sender<Incoming>,
    /// Encoded frames for the next `/receive`.
    waiting: parking_lot::Mutex<VecDeque<Bytes>>,
    ready: Notify,
    last_seen: parking_lot::Mutex<Instant>,
    /// Cancelled when the transport closes (its session ended, or the client closed it).
    closed: CancellationToken,
}

impl Transport {
    fn touch(&self) {
        *self.last_seen.lock() = Instant::now();
    }
}

impl LongPoll {
    pub fn new(ctx: ListenerContext) -> Self {
        Self {
            ctx: Arc::new(ctx),
            transports: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, id: &str) -> Option<Arc<Transport>> {
        self.transports.lock().get(id).cloned()
    }
}

/// An HTTP response, with the CORS headers for `origin`.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn empty(status: &'static str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Vec::new(),
        }
    }

    fn text(status: &'static str, text: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{text}\n").into_bytes(),
        }
    }
}

/// Answers one HTTP request to `rest` (the part of the path after the long-poll path).
pub(crate) async fn serve<S>(
    mut stream: S,
    head: Head,
    rest: &str,
    lp: Arc<LongPoll>,
    conn: ConnectionInfo,
    router: Arc<RouterInner>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let response = if head.method == "OPTIONS" {
        // A CORS preflight (a page of another origin posting JSON).
        Response::empty("204 No Content")
    } else if head.method != "POST" {
        Response::text(
            "405 Method Not Allowed",
            "the long-poll transport takes POST",
        )
    } else {
        match read_body(
            &mut stream,
            &head,
            lp.ctx.max_message_size,
            router.config.hello_timeout,
        )
        .await
        {
            Err(r) => r,
            Ok(body) => request(rest, body, &lp, conn, &router).await,
        }
    };
    let cors = match &head.origin {
        // As Crossbar.io: the page's origin, with credentials (Autobahn|JS sends cookies).
        Some(origin) => format!(
            "access-control-allow-origin: {origin}\r\naccess-control-allow-credentials: true\r\naccess-control-allow-methods: POST, OPTIONS\r\naccess-control-allow-headers: content-type\r\naccess-control-max-age: 86400\r\nvary: origin\r\n"
        ),
        None => "access-control-allow-origin: *\r\n".to_owned(),
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\ncontent-type: {}\r\ncontent-length: {}\r\ncache-control: no-store\r\n{cors}connection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    out.extend_from_slice(&response.body);
    let write = async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(router.config.write_timeout, write).await;
}

/// The request body: what came with the head, then up to `Content-Length` more.
async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    head: &Head,
    max: usize,
    deadline: Duration,
) -> Result<Vec<u8>, Response> {
    let mut body = head
        .bytes
        .get(head.body_start..)
        .unwrap_or_default()
        .to_vec();
    let Some(length) = head.content_length else {
        return Ok(body);
    };
    // A batch may hold several messages of the largest size: room for a few.
    if length > max.saturating_mul(4) {
        return Err(Response::text(
            "413 Payload Too Large",
            "the message is larger than this endpoint takes",
        ));
    }
    let read = async {
        while body.len() < length {
            let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);
        Some(body)
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Some(body)) => Ok(body),
        _ => Err(Response::text(
            "400 Bad Request",
            "the request body did not arrive",
        )),
    }
}

async fn request(
    rest: &str,
    body: Vec<u8>,
    lp: &Arc<LongPoll>,
    conn: ConnectionInfo,
    router: &Arc<RouterInner>,
) -> Response {
    let rest = rest.trim_matches('/');
    if rest == "open" {
        return open(&body, lp, conn, router);
    }
    let Some((id, action)) = rest.split_once('/') else {
        return Response::text("404 Not Found", "no such long-poll request");
    };
    let Some(t) = lp.get(id) else {
        return Response::text(
            "404 Not Found",
            "no such transport (closed, or idle too long)",
        );
    };
    t.touch();
    match action {
        "send" => send(&t, &body, lp.ctx.max_message_size),
        "receive" => receive(&t).await,
        "close" => {
            t.closed.cancel();
            lp.transports.lock().remove(id);
            Response::empty("204 No Content")
        }
        _ => Response::text("404 Not Found", "no such long-poll request"),
    }
}

/// `open`: picks a protocol of the client's list, starts the transport's session.
fn open(
    body: &[u8],
    lp: &Arc<LongPoll>,
    conn: ConnectionInfo,
    router: &Arc<RouterInner>,
) -> Response {
    let asked: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("protocols")?.as_array().map(|l| {
                l.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let chosen = asked.iter().find_map(|p| {
        let (name, batched) = match p.strip_suffix(".batched") {
            Some(n) => (n, true),
            None => (p.as_str(), false),
        };
        let s = Serializer::from_subprotocol(name)?;
        lp.ctx.allows(s).then_some((p.clone(), s, batched))
    });
    let Some((protocol, serializer, batched)) = chosen else {
        return Response::text(
            "400 Bad Request",
            "open takes {\"protocols\": [...]} with a protocol this endpoint speaks (wamp.2.json, wamp.2.msgpack, wamp.2.cbor, or their .batched forms)",
        );
    };
    let Some(slot) = lp.ctx.admit() else {
        return Response::text(
            "503 Service Unavailable",
            "this endpoint serves as many sessions as it may",
        );
    };
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
    let (tx, rx) = mpsc::channel(INBOUND);
    let transport = Arc::new(Transport {
        serializer,
        batched,
        inbound: tx,
        waiting: parking_lot::Mutex::new(VecDeque::new()),
        ready: Notify::new(),
        last_seen: parking_lot::Mutex::new(Instant::now()),
        closed: CancellationToken::new(),
    });
    lp.transports.lock().insert(id.clone(), transport.clone());
    let (out, out_rx, kill) = connection::open(router);
    let writer = tokio::spawn(write_loop(out_rx, transport.clone(), router.clone()));
    let conn = ConnectionInfo {
        listener: lp.ctx.clone(),
        ..conn
    };
    let (r, lp2, id2, t2) = (router.clone(), lp.clone(), id.clone(), transport.clone());
    let span = connection::session_span(&conn.peer);
    let session = async move {
        let inbound = LpInbound { rx };
        // Ends the session (as a lost connection) when the client closes the transport or
        // leaves it idle; the session loop then ends by itself, and the session leaves.
        let idle = tokio::spawn(watch_idle(t2.clone()));
        let session = Session::new(r.clone(), Some(serializer), out, conn);
        connection::drive(r, session, inbound, kill, writer).await;
        idle.abort();
        t2.closed.cancel();
        t2.ready.notify_waiters();
        lp2.transports.lock().remove(&id2);
        drop(slot);
        tracing::debug!(transport = id2, "long-poll transport closed");
    };
    router
        .tasks
        .spawn(tracing::Instrument::instrument(session, span));
    tracing::debug!(transport = id, protocol, "long-poll transport opened");
    let answer = serde_json::json!({ "protocol": protocol, "transport": id });
    Response {
        status: "200 OK",
        content_type: "application/json",
        body: answer.to_string().into_bytes(),
    }
}

/// Tells the session its transport is gone once no request touched it for [`IDLE`], or
/// the client closed it.
async fn watch_idle(t: Arc<Transport>) {
    loop {
        let since = t.last_seen.lock().elapsed();
        if since >= IDLE {
            tracing::debug!("long-poll transport idle: closed");
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(IDLE - since) => {}
            () = t.closed.cancelled() => break,
        }
    }
    let _ = t.inbound.send(Incoming::Closed).await;
}

/// `send`: one message, or a batch, for the session.
fn send(t: &Transport, body: &[u8], max: usize) -> Response {
    let frames = match split(t.serializer, t.batched, body) {
        Some(f) => f,
        None => return Response::text("400 Bad Request", "a malformed batch"),
    };
    for frame in frames {
        let incoming = if frame.len() > max {
            Incoming::Violation(format!("message too large; the limit is {max} bytes"))
        } else {
            match t.serializer.decode(&Bytes::copy_from_slice(frame)) {
                Ok(msg) => Incoming::Message(msg),
                Err(e) => Incoming::Violation(format!("undecodable message: {e}")),
            }
        };
        let violation = matches!(incoming, Incoming::Violation(_));
        if t.inbound.try_send(incoming).is_err() {
            return Response::text(
                "503 Service Unavailable",
                "the session is not keeping up; send again",
            );
        }
        if violation {
            return Response::text("400 Bad Request", "the message cannot be read");
        }
    }
    // Autobahn|JS and Crossbar.io: 204 (the spec writes 202 "no content").
    Response::empty("204 No Content")
}

/// The messages of a request body: one, or a batch (JSON: each followed by `\x1e`;
/// binary: each after its 4-byte length).
fn split(serializer: Serializer, batched: bool, body: &[u8]) -> Option<Vec<&[u8]>> {
    if !batched {
        return Some(vec![body]);
    }
    if !serializer.is_binary() {
        return Some(
            body.split(|b| *b == 0x1e)
                .filter(|m| !m.is_empty())
                .collect(),
        );
    }
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let n = u32::from_be_bytes(*len) as usize;
        if tail.len() < n {
            return None;
        }
        out.push(&tail[..n]);
        rest = &tail[n..];
    }
    Some(out)
}

/// `receive`: what waits (one message, or all of them batched), else held until a
/// message comes, the transport closes, or [`HOLD`] passes (204, empty).
async fn receive(t: &Transport) -> Response {
    let deadline = tokio::time::Instant::now() + HOLD;
    loop {
        let notified = t.ready.notified();
        if let Some(body) = take(t) {
            return Response {
                status: "200 OK",
                content_type: if t.serializer.is_binary() {
                    "application/octet-stream"
                } else {
                    "application/json; charset=utf-8"
                },
                body,
            };
        }
        if t.closed.is_cancelled() {
            return Response::text("410 Gone", "the transport is closed");
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep_until(deadline) => return Response::empty("204 No Content"),
            () = t.closed.cancelled() => {}
        }
    }
}

fn take(t: &Transport) -> Option<Vec<u8>> {
    let mut waiting = t.waiting.lock();
    if waiting.is_empty() {
        return None;
    }
    if !t.batched {
        return waiting.pop_front().map(|b| b.to_vec());
    }
    let mut body = Vec::new();
    for frame in waiting.drain(..) {
        if t.serializer.is_binary() {
            body.extend_from_slice(&u32::try_from(frame.len()).unwrap_or(u32::MAX).to_be_bytes());
            body.extend_from_slice(&frame);
        } else {
            body.extend_from_slice(&frame);
            body.push(0x1e);
        }
    }
    Some(body)
}

/// Moves what the session sends into the transport's waiting frames.
async fn write_loop(mut rx: OutboxReceiver, t: Arc<Transport>, router: Arc<RouterInner>) {
    loop {
        let out = tokio::select! {
            out = rx.recv() => out,
            () = t.closed.cancelled() => break,
        };
        let Some(out) = out else { break };
        let bytes = match out {
            Outbound::Event(bytes) => {
                router.stats.sent(wamp_runtime::proto::code::EVENT, 1);
                bytes
            }
            Outbound::Message(msg) => match router.stats.encode(t.serializer, &msg) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("cannot encode {} for this peer: {e}", msg.name());
                    continue;
                }
            },
            // Long-poll has no transport frames of its own.
            Outbound::Control(_) => continue,
        };
        router.stats.sent_bytes(bytes.len());
        let full = {
            let mut waiting = t.waiting.lock();
            waiting.push_back(bytes);
            waiting.len() > MAX_WAITING
        };
        t.ready.notify_waiters();
        if full {
            tracing::warn!("long-poll client not receiving: transport closed");
            connection::too_slow(&router, &rx);
            break;
        }
    }
    // What is waiting can still be received until the transport goes.
    t.ready.notify_waiters();
}

/// The session's side of the transport: what `/send` queued.
struct LpInbound {
    rx: mpsc::Receiver<Incoming>,
}

impl Inbound for LpInbound {
    async fn next(&mut self) -> Incoming {
        self.rx.recv().await.unwrap_or(Incoming::Closed)
    }
}
