//! The HTTP long-poll transport, spoken over raw HTTP as Autobahn|JS speaks it: open, send
//! and receive (held, then answered), batched MessagePack, CORS for other origins, bad
//! requests answered with HTTP errors and the transport going on. Autobahn|JS itself, in
//! Node.js and in Chromium, is in `browser.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;

use tests::{http_request, router};
use wamp_router::Listener;
use wamp_runtime::proto::{Dict, Message, Value};
use wamp_runtime::Serializer;

async fn longpoll_router() -> (wamp_router::RouterHandle, SocketAddr) {
    let listener = Listener::websocket("127.0.0.1:0".parse().unwrap())
        .websocket_path("/ws", Listener::endpoint())
        .longpoll_path("/lp", Listener::endpoint());
    let r = router().listener(listener).start().await.unwrap();
    let addr = r.urls()[1]
        .split_once("://")
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (r, addr)
}

/// POSTs `body` to `path`; the status line's code, the headers, the body.
async fn post(
    addr: SocketAddr,
    path: &str,
    body: &[u8],
    origin: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{origin}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    let out = http_request(addr, &String::from_utf8_lossy(&request)).await;
    let (headers, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let code = headers[9..12].parse().unwrap();
    (code, headers.to_owned(), body.as_bytes().to_vec())
}

fn hello() -> Message {
    let mut roles = Dict::new();
    roles.insert("caller".into(), Value::Dict(Dict::new()));
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles));
    Message::Hello {
        realm: "realm1".into(),
        details,
    }
}

#[tokio::test]
async fn a_session_over_long_poll_json() {
    let (r, addr) = longpoll_router().await;
    let (code, headers, body) = post(
        addr,
        "/lp/open?x=1",
        br#"{"protocols": ["wamp.2.json"]}"#,
        Some("http://page.example"),
    )
    .await;
    assert_eq!(code, 200, "{headers}");
    assert!(
        headers.contains("access-control-allow-origin: http://page.example"),
        "{headers}"
    );
    assert!(
        headers.contains("access-control-allow-credentials: true"),
        "{headers}"
    );
    let opened: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(opened["protocol"], "wamp.2.json");
    let id = opened["transport"].as_str().unwrap().to_owned();

    let json = Serializer::Json;
    let (code, ..) = post(
        addr,
        &format!("/lp/{id}/send"),
        &json.encode(&hello()).unwrap(),
        None,
    )
    .await;
    assert_eq!(code, 204);
    let (code, _, body) = post(addr, &format!("/lp/{id}/receive"), b"", None).await;
    assert_eq!(code, 200);
    let session = match json.decode(&body.into()).unwrap() {
        Message::Welcome { session, .. } => session,
        other => panic!("{other:?}"),
    };
    // A call to the meta API, answered on the next receive.
    let call = Message::Call {
        request: 1,
        options: Dict::new(),
        procedure: "wamp.session.get".into(),
        payload: wamp_runtime::Payload::args(vec![Value::from(session)]),
    };
    post(
        addr,
        &format!("/lp/{id}/send"),
        &json.encode(&call).unwrap(),
        None,
    )
    .await;
    let (_, _, body) = post(addr, &format!("/lp/{id}/receive"), b"", None).await;
    assert!(matches!(
        json.decode(&body.into()).unwrap(),
        Message::Result { request: 1, .. }
    ));

    // A CORS preflight; an unknown transport; garbage: HTTP errors.
    let preflight = http_request(
        addr,
        &format!("OPTIONS /lp/{id}/send HTTP/1.1\r\nHost: x\r\nOrigin: http://page.example\r\nAccess-Control-Request-Method: POST\r\n\r\n"),
    )
    .await;
    assert!(preflight.starts_with("HTTP/1.1 204"), "{preflight}");
    assert!(
        preflight.contains("access-control-allow-headers: content-type"),
        "{preflight}"
    );
    assert_eq!(post(addr, "/lp/nope/receive", b"", None).await.0, 404);
    assert_eq!(
        post(
            addr,
            "/lp/open",
            br#"{"protocols": ["wamp.2.ubjson"]}"#,
            None
        )
        .await
        .0,
        400
    );
    // Close: the transport goes, and its session leaves the realm.
    assert_eq!(r.session_count("realm1"), 1);
    assert_eq!(
        post(addr, &format!("/lp/{id}/close"), b"", None).await.0,
        204
    );
    assert_eq!(
        post(addr, &format!("/lp/{id}/receive"), b"", None).await.0,
        404
    );
    tests::until("the session left", || r.session_count("realm1") == 0).await;
}

#[tokio::test]
async fn batched_msgpack_and_a_malformed_message() {
    let (_r, addr) = longpoll_router().await;
    let (_, _, body) = post(
        addr,
        "/lp/open",
        br#"{"protocols": ["wamp.2.cbor.x", "wamp.2.msgpack.batched"]}"#,
        None,
    )
    .await;
    let opened: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(opened["protocol"], "wamp.2.msgpack.batched");
    let id = opened["transport"].as_str().unwrap().to_owned();
    let mp = Serializer::MsgPack;
    let frame = mp.encode(&hello()).unwrap();
    let mut batch = (frame.len() as u32).to_be_bytes().to_vec();
    batch.extend_from_slice(&frame);
    // Binary bodies go through a raw socket.
    let (code, ..) = post_bytes(addr, &format!("/lp/{id}/send"), &batch).await;
    assert_eq!(code, 204);
    let body = post_bytes(addr, &format!("/lp/{id}/receive"), b"").await.1;
    let n = u32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
    assert!(matches!(
        mp.decode(&body[4..4 + n].to_vec().into()).unwrap(),
        Message::Welcome { .. }
    ));
    // A batch whose length runs past its end.
    let (code, ..) = post_bytes(addr, &format!("/lp/{id}/send"), &[0, 0, 0, 9, 1]).await;
    assert_eq!(code, 400);
}

/// POSTs raw bytes; the status code and the body bytes.
async fn post_bytes(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(tests::WAIT, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let code = String::from_utf8_lossy(&out[9..12]).parse().unwrap();
    (code, out[end + 4..].to_vec())
}
