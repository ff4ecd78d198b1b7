//! Plain HTTP on a WebSocket listener: the request head is read first; a WebSocket upgrade
//! goes on to WAMP (see `websocket::handshake`), anything else gets a
//! static file from the listener's directory, or a short answer saying what this is.

use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The longest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// The largest file served.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// A request head, as far as routing it needs.
pub(crate) struct Head {
    /// Every byte read, the head and anything after it.
    pub bytes: Vec<u8>,
    /// Whether it asks for a WebSocket upgrade.
    pub upgrade: bool,
    /// The request method.
    pub method: String,
    /// The request's path, without its query.
    pub path: String,
    /// Where the head ends in `bytes` (the body starts after it).
    pub body_start: usize,
    /// The `Content-Length` header, if any.
    pub content_length: Option<usize>,
    /// The `Origin` header, if any (for CORS).
    pub origin: Option<String>,
    /// The headers a WebSocket handshake reads.
    pub websocket: UpgradeHeaders,
}

/// What a WebSocket upgrade request says in its headers (RFC 6455 §4.2.1).
#[derive(Debug, Default)]
pub(crate) struct UpgradeHeaders {
    /// `Connection` lists the `Upgrade` token.
    pub connection_upgrade: bool,
    /// `Sec-WebSocket-Key`.
    pub key: Option<String>,
    /// `Sec-WebSocket-Version`.
    pub version: Option<String>,
    /// Every subprotocol of every `Sec-WebSocket-Protocol` header, in order.
    pub protocols: Vec<String>,
}

/// Reads a request head; `None` when the peer closed, sent too much, or not HTTP.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Head> {
    // Sized by what arrives (a WebSocket upgrade is a few hundred bytes), not up front.
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 512];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if bytes.len() > MAX_HEAD {
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = text.split("\r\n");
    let mut request = lines.next()?.split(' ');
    let (method, target) = (request.next()?.to_owned(), request.next()?);
    let path = target.split(['?', '#']).next().unwrap_or("/").to_owned();
    let (mut upgrade, mut content_length, mut origin) = (false, None, None);
    let mut websocket = UpgradeHeaders::default();
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        let (name, value) = (name.trim(), value.trim());
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("upgrade") && value.eq_ignore_ascii_case("websocket") {
            upgrade = true;
        } else if is("content-length") {
            content_length = value.parse().ok();
        } else if is("origin") {
            origin = Some(value.to_owned());
        } else if is("connection") {
            let mut tokens = value.split(',').map(str::trim);
            websocket.connection_upgrade |= tokens.any(|t| t.eq_ignore_ascii_case("upgrade"));
        } else if is("sec-websocket-key") {
            websocket.key = Some(value.to_owned());
        } else if is("sec-websocket-version") {
            websocket.version = Some(value.to_owned());
        } else if is("sec-websocket-protocol") {
            let offered = value.split(',').map(str::trim).filter(|p| !p.is_empty());
            websocket.protocols.extend(offered.map(str::to_owned));
        }
    }
    Some(Head {
        bytes,
        upgrade,
        method,
        path,
        body_start: end + 4,
        content_length,
        origin,
        websocket,
    })
}

/// A stream that first yields bytes already read from it.
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let n = (this.prefix.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            if this.at == this.prefix.len() {
                // Replayed: the connection keeps no copy.
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Answers a plain HTTP request: a file of `dir` for GET, or what this endpoint is.
pub(crate) async fn answer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    head: &Head,
    files: Option<(&Path, &str)>,
) {
    let (status, content_type, body) = match (files, head.method.as_str()) {
        (_, m) if m != "GET" && m != "HEAD" => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"use GET\n".to_vec(),
        ),
        (None, _) => (
            "426 Upgrade Required",
            "text/plain; charset=utf-8",
            b"this is a WAMP WebSocket endpoint: connect with a WAMP client (subprotocol wamp.2.json, wamp.2.msgpack or wamp.2.cbor)\n".to_vec(),
        ),
        (Some((dir, path)), _) => match file(dir, path).await {
            Some((path, body)) => ("200 OK", content_type(&path), body),
            None => (
                "404 Not Found",
                "text/plain; charset=utf-8",
                b"not found\n".to_vec(),
            ),
        },
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-cache\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if head.method != "HEAD" {
        response.extend_from_slice(&body);
    }
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// The file a URL path names inside `dir` (`index.html` for a directory), and its bytes;
/// `None` for anything outside `dir`, missing, or too large.
async fn file(dir: &Path, url_path: &str) -> Option<(PathBuf, Vec<u8>)> {
    let decoded = percent_decode(url_path)?;
    let mut path = dir.to_path_buf();
    for part in Path::new(decoded.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            // "..", a root or a prefix: never outside the directory.
            _ => return None,
        }
    }
    let mut meta = tokio::fs::metadata(&path).await.ok()?;
    if meta.is_dir() {
        path.push("index.html");
        meta = tokio::fs::metadata(&path).await.ok()?;
    }
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let body = tokio::fs::read(&path).await.ok()?;
    Some((path, body))
}

/// HTTP 404 for a WebSocket upgrade to a path the listener does not serve.
pub(crate) async fn not_found<S: AsyncWrite + Unpin>(stream: &mut S) {
    let response = plain_response("404 Not Found", "no WAMP endpoint at this path\n", "");
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// A short plain-text response that closes the connection, with `extra` header lines
/// (each ending in `\r\n`).
pub(crate) fn plain_response(status: &str, text: &str, extra: &str) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
        text.len()
    )
    .into_bytes();
    response.extend_from_slice(text.as_bytes());
    response
}

/// `%XX` escapes decoded; `None` when they are malformed, not UTF-8, or decode to a NUL.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.contains('\0') && !text.contains('\\')).then_some(text)
}

/// The content type of a file, by its extension.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_directory() {
        assert_eq!(percent_decode("/a%20b.html").as_deref(), Some("/a b.html"));
        assert_eq!(percent_decode("/%2e%2e/x").as_deref(), Some("/../x"));
        assert_eq!(percent_decode("/bad%zz"), None);
        assert_eq!(percent_decode("/nul%00"), None);
        assert_eq!(percent_decode("/a\\b"), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let dir = std::env::temp_dir().join(format!("wamp-web-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        std::fs::write(dir.join("index.html"), "home").expect("file");
        std::fs::write(dir.join("sub/app.js"), "js").expect("file");
        rt.block_on(async {
            assert_eq!(file(&dir, "/").await.map(|f| f.1), Some(b"home".to_vec()));
            assert_eq!(
                file(&dir, "/sub/app.js").await.map(|f| f.1),
                Some(b"js".to_vec())
            );
            assert!(file(&dir, "/../index.html").await.is_none());
            assert!(file(&dir, "/%2e%2e/index.html").await.is_none());
            assert!(file(&dir, "/sub/../../etc/passwd").await.is_none());
            assert!(file(&dir, "/missing").await.is_none());
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
