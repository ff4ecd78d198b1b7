//! Helpers for the integration tests in `tests/tests`: an embedded router on a free
//! loopback port, and a raw WebSocket WAMP peer that sends and receives single messages.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp_router::{Router, RouterBuilder, RouterHandle};
use wamp_runtime::proto::{Dict, Id, Message, Value};
use wamp_runtime::Serializer;

mod crossbar;
mod cut;
mod nats;
pub mod scenarios;
mod venv;

pub use crossbar::Crossbar;
pub use cut::Cut;
pub use nats::{DropCounter, Nats, NodeProcess, Three};
pub use venv::{crossbar_bin, python};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a script of `tests/python` with the interop Python, bounded in time, and returns
/// its standard output; panics with its output when it fails.
pub async fn run_python(script: &str, args: &[&str]) -> String {
    let path = workspace().join("tests").join("python").join(script);
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(path).args(args).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} {args:?} timed out"))
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Starts a script of `tests/python` with the interop Python, its standard output piped
/// (read it line by line to follow it), killed when dropped.
pub fn spawn_python(script: &str, args: &[&str]) -> tokio::process::Child {
    let path = workspace().join("tests").join("python").join(script);
    tokio::process::Command::new(python())
        .arg(path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts")
}

/// Every way a session can reach the router: WebSocket with each serializer, and
/// in-process.
pub fn endpoints(r: &RouterHandle) -> Vec<(String, wamp_runtime::Endpoint, Serializer)> {
    let mut v: Vec<_> = Serializer::ALL
        .into_iter()
        .map(|s| (format!("ws {s}"), wamp_runtime::Endpoint::from(r.url()), s))
        .collect();
    v.push(("in-process".into(), r.endpoint(), Serializer::Json));
    v
}

/// A session joined to `realm1` at `endpoint` with `serializer`.
pub async fn join(
    endpoint: wamp_runtime::Endpoint,
    serializer: Serializer,
) -> wamp_runtime::Session {
    wamp_runtime::Session::builder(endpoint, "realm1")
        .serializer(serializer)
        .connect()
        .await
        .expect("joins")
}

/// The next event of `sub`, read as `T`, within [`WAIT`].
pub async fn next_event<T: wamp_runtime::client::FromArgs>(
    sub: &mut wamp_runtime::Subscription<T>,
) -> wamp_runtime::Event<T> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("event reads as T")
}

/// A Python peer started with [`spawn_python`], read line by line.
pub struct PythonPeer {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<String>,
}

impl PythonPeer {
    /// Starts `script` with `args`.
    pub fn start(script: &str, args: &[&str]) -> PythonPeer {
        use tokio::io::AsyncBufReadExt;
        let mut child = spawn_python(script, args);
        let stdout = child.stdout.take().expect("piped stdout");
        PythonPeer {
            child,
            lines: tokio::io::BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Reads lines until one starts with `prefix`, and returns its words after it.
    pub async fn line_starting(&mut self, prefix: &str) -> Vec<String> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(60), self.lines.next_line()).await;
            match next {
                Ok(Ok(Some(line))) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.split_whitespace().map(str::to_owned).collect();
                    }
                }
                other => {
                    let stderr = self.stderr().await;
                    panic!(
                        "no line {prefix:?} ({other:?}); stdout so far:\n{}\n--- stderr\n{stderr}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// The standard error of a peer that has ended (or is killed for it).
    async fn stderr(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let _ = self.child.start_kill();
        let mut text = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = tokio::time::timeout(WAIT, e.read_to_string(&mut text)).await;
        }
        text
    }

    /// Ends the peer.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Waits until `condition` holds, polling it, for at most [`WAIT`]: what a test does
/// instead of sleeping for a guess.
pub async fn until(what: &str, condition: impl FnMut() -> bool) {
    until_within(what, WAIT, condition).await
}

/// Like [`until`], for at most `within`.
pub async fn until_within(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let polled = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(within, polled).await.is_err() {
        panic!("waited {within:?} for {what}");
    }
}

/// How long a test waits for any one message before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// A router builder on a free loopback port with realms `realm1` and `realm2`.
pub fn router() -> RouterBuilder {
    init_logs();
    Router::builder()
        .listen("127.0.0.1:0".parse().expect("address"))
        .realm("realm1")
        .realm("realm2")
}

/// Sends the router's logs to the test's captured output, filtered by `RUST_LOG`
/// (nothing when it is unset). Safe to call from every test.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Starts [`router`] with its defaults.
pub async fn start_router() -> RouterHandle {
    router().start().await.expect("router starts")
}

/// A WAMP peer speaking raw WebSocket frames.
pub struct RawPeer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The serializer negotiated.
    pub serializer: Serializer,
    /// The session ID, once joined.
    pub session: Id,
}

/// The roles a test peer announces.
pub fn all_roles() -> Dict {
    let mut roles = Dict::new();
    for r in ["publisher", "subscriber", "caller", "callee"] {
        roles.insert(r.into(), Value::Dict(Dict::new()));
    }
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles));
    details
}

impl RawPeer {
    /// Opens a WebSocket offering the given subprotocols.
    pub async fn connect_with(
        url: &str,
        protocols: &str,
    ) -> Result<
        (WebSocketStream<MaybeTlsStream<TcpStream>>, Option<String>),
        tokio_tungstenite::tungstenite::Error,
    > {
        let mut req = url.into_client_request()?;
        if !protocols.is_empty() {
            req.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocols).expect("header"),
            );
        }
        let (ws, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("connect in time")?;
        let chosen = resp
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((ws, chosen))
    }

    /// Opens a WebSocket speaking `serializer`, without joining.
    pub async fn connect(url: &str, serializer: Serializer) -> RawPeer {
        let (ws, chosen) = Self::connect_with(url, serializer.subprotocol())
            .await
            .expect("connects");
        assert_eq!(chosen.as_deref(), Some(serializer.subprotocol()));
        RawPeer {
            ws,
            serializer,
            session: 0,
        }
    }

    /// Connects and joins `realm`, returning the peer with its session ID set.
    pub async fn join(url: &str, serializer: Serializer, realm: &str) -> RawPeer {
        let mut p = Self::connect(url, serializer).await;
        p.send(&Message::Hello {
            realm: realm.into(),
            details: all_roles(),
        })
        .await;
        match p.recv().await {
            Message::Welcome { session, .. } => p.session = session,
            other => panic!("expected WELCOME, got {other:?}"),
        }
        p
    }

    /// Sends one message.
    pub async fn send(&mut self, msg: &Message) {
        let frame = self.serializer.encode(msg).expect("encode");
        self.send_frame(frame).await;
    }

    /// Sends raw bytes in a frame of the serializer's kind (text for JSON).
    pub async fn send_frame(&mut self, frame: Bytes) {
        let m = if self.serializer.is_binary() {
            WsMessage::Binary(frame)
        } else {
            WsMessage::Text(String::from_utf8(frame.to_vec()).expect("utf-8").into())
        };
        self.ws.send(m).await.expect("send");
    }

    /// Sends a JSON text frame as written.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// The next frame's bytes, or `None` when the connection closed.
    pub async fn recv_frame(&mut self) -> Option<Bytes> {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match next {
                Some(Ok(WsMessage::Text(t))) => return Some(Bytes::from(t)),
                Some(Ok(WsMessage::Binary(b))) => return Some(b),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next message; panics on timeout or close.
    pub async fn recv(&mut self) -> Message {
        let frame = self.recv_frame().await.expect("connection still open");
        self.serializer
            .decode(&frame)
            .expect("router sends valid messages")
    }

    /// Expects nothing to arrive within `d`.
    pub async fn expect_silence(&mut self, d: Duration) {
        if let Ok(Some(Ok(m))) = tokio::time::timeout(d, self.ws.next()).await {
            panic!("expected nothing, got {m:?}");
        }
    }

    /// Expects the connection to close (after any messages, which are returned).
    pub async fn until_closed(&mut self) -> Vec<Message> {
        let mut got = Vec::new();
        while let Some(f) = self.recv_frame().await {
            got.push(self.serializer.decode(&f).expect("valid"));
        }
        got
    }

    /// Expects an ABORT with `reason`, then the connection to close; returns the ABORT message text.
    pub async fn expect_abort(&mut self, reason: &str) -> String {
        let msgs = self.until_closed().await;
        match msgs.as_slice() {
            [Message::Abort { reason: r, details }] => {
                assert_eq!(r, reason, "ABORT reason");
                details
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            }
            other => panic!("expected one ABORT {reason}, got {other:?}"),
        }
    }

    /// Closes the WebSocket without GOODBYE.
    pub async fn drop_connection(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A TCP port free on loopback right now (for a process or a file that needs one before
/// it binds).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Sends `request` as written to `addr` over plain TCP and returns the whole response
/// (the server closes the connection after answering).
pub async fn http_request(addr: std::net::SocketAddr, request: &str) -> String {
    match try_http_request(addr, request).await {
        Ok(answer) => answer,
        Err(e) => panic!("HTTP request to {addr}: {e}"),
    }
}

/// [`http_request`], with the failure to connect, send or read as an error (for polling a
/// server that is starting).
pub async fn try_http_request(
    addr: std::net::SocketAddr,
    request: &str,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(request.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `GET path` on `addr`, the whole response.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    http_request(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await
}

/// The value of metric `name` (a line `name value`) in the text `/metrics` serves.
pub fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.parse().ok())
}
