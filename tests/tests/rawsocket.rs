//! RawSocket against the real router: our client over `tcp://` and `unix://` with each
//! serializer, the handshake and its refusals, PING/PONG, the maximum message length, and
//! Autobahn for Python over RawSocket.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tests::scenarios::{rust_client_roles, serializer_name};
use tests::{router, run_python, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp_runtime::proto::{error, Message};
use wamp_runtime::transport::rawsocket::{read_frame, write_frame, FrameKind};
use wamp_runtime::{Endpoint, Serializer, Session, WampError};

async fn rawsocket_router() -> wamp_router::RouterHandle {
    router()
        .rawsocket("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .expect("starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_over_tcp_with_every_serializer() {
    let r = rawsocket_router().await;
    let url = r.rawsocket_url().unwrap();
    for ser in Serializer::ALL {
        rust_client_roles(&url, ser).await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn our_client_over_a_unix_socket_talks_to_websocket_peers() {
    let path = std::env::temp_dir().join(format!("wamp-test-{}.sock", std::process::id()));
    let r = router()
        .rawsocket_unix(&path)
        .start()
        .await
        .expect("starts");
    let unix = Session::builder(format!("unix://{}", path.display()), "realm1")
        .serializer(Serializer::MsgPack)
        .connect()
        .await
        .unwrap();
    let _echo = unix
        .register("com.raw.echo", |(s,): (String,)| async move {
            Ok::<_, WampError>(s)
        })
        .await
        .unwrap();
    let ws = Session::builder(Endpoint::from(r.url()), "realm1")
        .serializer(Serializer::Json)
        .connect()
        .await
        .unwrap();
    let back: String = ws.call("com.raw.echo", ("héllo",)).await.unwrap();
    assert_eq!(back, "héllo");
    r.shutdown().await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

async fn handshake(addr: std::net::SocketAddr, request: [u8; 4]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&request).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4];
    if let Ok(Ok(n)) = tokio::time::timeout(WAIT, s.read(&mut buf)).await {
        reply.extend_from_slice(&buf[..n]);
    }
    (s, reply)
}

#[tokio::test]
async fn the_handshake_and_its_refusals() {
    let r = rawsocket_router().await;
    let addr = r.rawsocket_addr().unwrap();
    // JSON, 512-octet limit: accepted, serializer echoed, the router's own limit 16 MiB.
    let (_s, reply) = handshake(addr, [0x7F, 0x01, 0, 0]).await;
    assert_eq!(reply, [0x7F, 0xF1, 0, 0]);
    // An unknown serializer: error 1.
    let (_s, reply) = handshake(addr, [0x7F, 0xF9, 0, 0]).await;
    assert_eq!(reply, [0x7F, 0x10, 0, 0]);
    // Reserved bits: error 3.
    let (_s, reply) = handshake(addr, [0x7F, 0xF1, 0, 1]).await;
    assert_eq!(reply, [0x7F, 0x30, 0, 0]);
    // Not RawSocket at all: closed without a reply.
    let (_s, reply) = handshake(addr, *b"GET ").await;
    assert!(reply.is_empty());
    // A WebSocket URL's port does not speak RawSocket: a clear error for our client.
    let e = Session::builder(format!("tcp://{}", r.local_addr()), "realm1")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            wamp_runtime::Error::Transport(_) | wamp_runtime::Error::ConnectTimeout(_)
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn ping_pong_and_the_maximum_message_length() {
    let r = router()
        .rawsocket("127.0.0.1:0".parse().unwrap())
        .max_message_size(4096)
        .start()
        .await
        .unwrap();
    let addr = r.rawsocket_addr().unwrap();
    // CBOR, client accepts up to 2^(9+1) = 1024 octets; router announces 4096 (L = 3).
    let (mut s, reply) = handshake(addr, [0x7F, 0x13, 0, 0]).await;
    assert_eq!(reply, [0x7F, 0x33, 0, 0]);
    write_frame(&mut s, FrameKind::Ping, b"are you there")
        .await
        .unwrap();
    let (kind, payload) = read_frame(&mut s, 1024).await.unwrap();
    assert_eq!(
        (kind, &payload[..]),
        (FrameKind::Pong, &b"are you there"[..])
    );

    let hello = Serializer::Cbor
        .encode(&Message::Hello {
            realm: "realm1".into(),
            details: tests::all_roles(),
        })
        .unwrap();
    write_frame(&mut s, FrameKind::Message, &hello)
        .await
        .unwrap();
    let (_, welcome) = read_frame(&mut s, 1024).await.unwrap();
    assert!(matches!(
        Serializer::Cbor.decode(&welcome).unwrap(),
        Message::Welcome { .. }
    ));
    // A message over the router's limit ends the session with ABORT.
    write_frame(&mut s, FrameKind::Message, &vec![0x80; 5000])
        .await
        .unwrap();
    let (_, abort) = read_frame(&mut s, 1024).await.unwrap();
    match Serializer::Cbor.decode(&abort).unwrap() {
        Message::Abort { reason, .. } => assert_eq!(reason, error::PROTOCOL_VIOLATION),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn results_too_large_for_the_client_become_errors() {
    let r = rawsocket_router().await;
    let callee = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _big = callee
        .register("com.raw.big", |(n,): (usize,)| async move {
            Ok::<_, WampError>("x".repeat(n))
        })
        .await
        .unwrap();
    let caller = Session::builder(r.rawsocket_url().unwrap(), "realm1")
        .max_message_size(1024)
        .connect()
        .await
        .unwrap();
    let small: String = caller.call("com.raw.big", (10,)).await.unwrap();
    assert_eq!(small.len(), 10);
    let e = caller
        .call::<String>("com.raw.big", (5000,))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::PAYLOAD_SIZE_EXCEEDED), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_over_rawsocket() {
    let r = rawsocket_router().await;
    let url = r.rawsocket_url().unwrap();
    for ser in Serializer::ALL {
        let name = serializer_name(ser);
        let out = run_python("autobahn_basic.py", &[&url, "realm1", name]).await;
        assert!(out.contains(&format!("ALL OK {name}")), "{out}");
    }
}

/// The router reads frames however the bytes arrive: one byte at a time, several frames in
/// one write, a frame larger than one read.
#[tokio::test]
async fn frames_split_and_joined_any_way_are_read_whole() {
    let r = rawsocket_router().await;
    let addr = r.rawsocket_addr().unwrap();
    // MessagePack, the client accepts up to 16 MiB.
    let (mut s, reply) = handshake(addr, [0x7F, 0xF2, 0, 0]).await;
    assert_eq!(reply, [0x7F, 0xF2, 0, 0]);
    let frame = |kind: u8, payload: &[u8]| {
        let len = payload.len();
        let mut f = vec![kind, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        f.extend_from_slice(payload);
        f
    };
    let hello = Serializer::MsgPack
        .encode(&Message::Hello {
            realm: "realm1".into(),
            details: tests::all_roles(),
        })
        .unwrap();
    // A PING and the HELLO, byte by byte.
    let mut bytes = frame(1, b"ping");
    bytes.extend(frame(0, &hello));
    for b in bytes {
        s.write_all(&[b]).await.unwrap();
        s.flush().await.unwrap();
    }
    let (kind, payload) = read_frame(&mut s, 1 << 24).await.unwrap();
    assert_eq!((kind, &payload[..]), (FrameKind::Pong, &b"ping"[..]));
    let (_, welcome) = read_frame(&mut s, 1 << 24).await.unwrap();
    assert!(matches!(
        Serializer::MsgPack.decode(&welcome).unwrap(),
        Message::Welcome { .. }
    ));
    // An acknowledged PUBLISH of 20 kB in two writes, and a PING right behind it in the
    // second one.
    let mut options = wamp_runtime::proto::Dict::new();
    options.insert("acknowledge".into(), true.into());
    let publish = Serializer::MsgPack
        .encode(&Message::Publish {
            request: 7,
            options,
            topic: "com.example.big".into(),
            payload: wamp_runtime::proto::Payload::args(vec!["x".repeat(20_000).into()]),
        })
        .unwrap();
    let mut bytes = frame(0, &publish);
    bytes.extend(frame(1, b"again"));
    let (first, second) = bytes.split_at(3_000);
    s.write_all(first).await.unwrap();
    s.flush().await.unwrap();
    s.write_all(second).await.unwrap();
    let (_, published) = read_frame(&mut s, 1 << 24).await.unwrap();
    assert!(matches!(
        Serializer::MsgPack.decode(&published).unwrap(),
        Message::Published { request: 7, .. }
    ));
    let (kind, payload) = read_frame(&mut s, 1 << 24).await.unwrap();
    assert_eq!((kind, &payload[..]), (FrameKind::Pong, &b"again"[..]));
}
