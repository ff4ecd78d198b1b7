//! The router's WebSocket framing, byte by byte (RFC 6455): what a client may do (send
//! data with its upgrade request, fragment a message, ping between fragments, close with
//! a code) works, and what it may not (an unmasked frame, a bad version, no WAMP
//! subprotocol) gets the RFC's answer while everyone else keeps being served.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{http_request, start_router, RawPeer, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp_runtime::Serializer;

const HELLO: &[u8] = br#"[1,"realm1",{"roles":{"caller":{}}}]"#;

fn upgrade_request() -> String {
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
        .to_owned()
}

/// A client's frame, masked.
fn frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0xA1, 0x07, 0x3C, 0x5E];
    let mut out = vec![if fin { 0x80 } else { 0 } | op];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A connection past its `101` answer, and whatever came after the answer.
async fn open(addr: std::net::SocketAddr, after_request: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut request = upgrade_request().into_bytes();
    request.extend_from_slice(after_request);
    s.write_all(&request).await.unwrap();
    let mut got = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed during the handshake");
        got.extend_from_slice(&chunk[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    // RFC 6455 §1.3's example key and its answer.
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(
        head.contains("sec-websocket-protocol: wamp.2.json"),
        "{head}"
    );
    (s, got[end..].to_vec())
}

/// The next server frame: its first byte (FIN and opcode) and payload; `None` at the end.
async fn server_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    loop {
        if buf.len() >= 2 {
            assert_eq!(buf[1] & 0x80, 0, "a server frame is never masked");
            let (at, len) = match buf[1] {
                126 if buf.len() >= 4 => (4, u16::from_be_bytes([buf[2], buf[3]]) as usize),
                127 if buf.len() >= 10 => (
                    10,
                    u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
                ),
                126 | 127 => (usize::MAX, 0),
                n => (2, n as usize),
            };
            if at != usize::MAX && buf.len() >= at + len {
                let first = buf[0];
                let payload = buf[at..at + len].to_vec();
                buf.drain(..at + len);
                return Some((first, payload));
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .unwrap()
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The payload is a JSON WELCOME.
fn assert_welcome(payload: &[u8]) {
    let text = String::from_utf8_lossy(payload);
    assert!(payload.starts_with(b"[2,"), "not a WELCOME: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_sent_with_the_upgrade_request_is_answered() {
    let r = start_router().await;
    let (mut s, mut buf) = open(r.local_addr(), &frame(true, 0x1, HELLO)).await;
    let (first, welcome) = server_frame(&mut s, &mut buf).await.unwrap();
    assert_eq!(first, 0x81, "a final text frame");
    assert_welcome(&welcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_join_and_a_ping_between_them_is_answered_first() {
    let r = start_router().await;
    let (mut s, mut buf) = open(r.local_addr(), b"").await;
    let (a, rest) = HELLO.split_at(10);
    let (b, c) = rest.split_at(10);
    let mut bytes = frame(false, 0x1, a);
    bytes.extend(frame(true, 0x9, b"are you there"));
    bytes.extend(frame(false, 0x0, b));
    bytes.extend(frame(true, 0x0, c));
    // Byte by byte: the router must put frames together across reads.
    for byte in bytes {
        s.write_all(&[byte]).await.unwrap();
    }
    let (first, pong) = server_frame(&mut s, &mut buf).await.unwrap();
    assert_eq!((first, pong.as_slice()), (0x8A, &b"are you there"[..]));
    let (_, welcome) = server_frame(&mut s, &mut buf).await.unwrap();
    assert_welcome(&welcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_is_echoed_with_its_code_and_the_connection_ends() {
    let r = start_router().await;
    let (mut s, mut buf) = open(r.local_addr(), &frame(true, 0x1, HELLO)).await;
    let _welcome = server_frame(&mut s, &mut buf).await.unwrap();
    s.write_all(&frame(true, 0x8, b"\x03\xe9going away"))
        .await
        .unwrap();
    let (first, close) = server_frame(&mut s, &mut buf).await.unwrap();
    assert_eq!((first, close.as_slice()), (0x88, &[0x03, 0xE9][..]));
    assert!(
        server_frame(&mut s, &mut buf).await.is_none(),
        "nothing after the close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmasked_frame_is_a_protocol_error_and_others_are_still_served() {
    let r = start_router().await;
    let mut s = TcpStream::connect(r.local_addr()).await.unwrap();
    s.write_all(upgrade_request().as_bytes()).await.unwrap();
    let mut unmasked = vec![0x81, HELLO.len() as u8];
    unmasked.extend_from_slice(HELLO);
    s.write_all(&unmasked).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    // Close 1002, and the connection ends.
    assert_eq!(&got[end..], &[0x88, 2, 0x03, 0xEA]);
    let peer = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    assert!(peer.session > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_the_router_cannot_serve_are_refused_in_http() {
    let r = start_router().await;
    let old = upgrade_request().replace("Version: 13", "Version: 8");
    let answer = http_request(r.local_addr(), &old).await;
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(
        answer.to_lowercase().contains("sec-websocket-version: 13"),
        "{answer}"
    );
    let mqtt = upgrade_request().replace("wamp.2.json", "mqtt");
    let answer = http_request(r.local_addr(), &mqtt).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("wamp.2.json"), "{answer}");
    let no_key = upgrade_request().replace("Sec-WebSocket-Key", "X-Key");
    let answer = http_request(r.local_addr(), &no_key).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}
