//! A WebSocket listener that also serves static files: a browser page and its WAMP
//! endpoint on one address. Plain HTTP gets files (never from outside the directory), a
//! WebSocket upgrade gets WAMP.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{http_get, http_request, router, RawPeer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp_router::Listener;
use wamp_runtime::Serializer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_wamp_share_one_address() {
    let root = std::env::temp_dir().join(format!("wamp-static-{}", std::process::id()));
    let site = root.join("site");
    std::fs::create_dir_all(site.join("js")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(site.join("js/app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("secret.txt"), "do not serve").unwrap();

    tests::init_logs();
    let r = wamp_router::Router::builder()
        .listener(Listener::websocket("127.0.0.1:0".parse().unwrap()).static_files(&site))
        .realm("realm1")
        .start()
        .await
        .unwrap();
    let addr = r.local_addr();

    let index = http_get(addr, "/").await;
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("content-type: text/html"), "{index}");
    assert!(index.ends_with("\r\n\r\n<h1>demo</h1>"), "{index}");
    let js = http_get(addr, "/js/app.js?v=2").await;
    assert!(js.contains("content-type: text/javascript"), "{js}");
    assert!(js.ends_with("console.log(1)"), "{js}");
    for outside in [
        "/../secret.txt",
        "/js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/nope.html",
    ] {
        let answer = http_get(addr, outside).await;
        assert!(answer.starts_with("HTTP/1.1 404 "), "{outside}: {answer}");
        assert!(!answer.contains("do not serve"));
    }
    let head = http_request(addr, "HEAD / HTTP/1.1\r\n\r\n").await;
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let post = http_request(addr, "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");

    // WAMP on the same address, with any URL path.
    let peer = RawPeer::join(&format!("ws://{addr}/ws"), Serializer::Json, "realm1").await;
    assert!(peer.session > 0);
    r.shutdown().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_files_plain_http_is_told_what_this_is() {
    let r = router().start().await.unwrap();
    let answer = http_get(r.local_addr(), "/").await;
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required"),
        "{answer}"
    );
    assert!(answer.contains("WAMP WebSocket endpoint"), "{answer}");
    // A request head that never ends is cut off, and WAMP still works.
    let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(16 * 1024));
    let mut s = tokio::net::TcpStream::connect(r.local_addr())
        .await
        .unwrap();
    let _ = s.write_all(huge.as_bytes()).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(tests::WAIT, s.read_to_end(&mut rest)).await;
    let peer = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    assert!(peer.session > 0);
    r.shutdown().await;
}
