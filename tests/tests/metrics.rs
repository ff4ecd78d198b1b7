//! The router's HTTP endpoint for operations: liveness, readiness, and metrics in the
//! Prometheus text format that count what real peers did.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{http_get, http_request, router, RawPeer};
use wamp_runtime::proto::{Dict, Message, Payload, Value};
use wamp_runtime::Serializer;

/// Sends `request` as written and returns the whole response.
/// The value of one sample line (`name{labels} value`), if the exposition has it.
fn sample(metrics: &str, series: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_over_http() {
    let r = router()
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let addr = r.metrics_addr().expect("the endpoint is bound");

    let health = http_get(addr, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.ends_with("\r\n\r\nok\n"), "{health}");
    let ready = http_get(addr, "/ready").await;
    assert!(ready.starts_with("HTTP/1.1 200 OK\r\n"), "{ready}");

    // Traffic: a callee that does not answer (a call stays in flight), a call to nothing
    // (an ERROR), and a publication to a subscriber.
    let mut callee = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.slow".into(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Registered { .. }));
    callee
        .send(&Message::Subscribe {
            request: 2,
            options: Dict::new(),
            topic: "com.news".into(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Subscribed { .. }));
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let call = |request, procedure: &str| Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.into(),
        payload: Payload::args(vec![Value::Int(1)]),
    };
    caller.send(&call(1, "com.slow")).await;
    assert!(matches!(callee.recv().await, Message::Invocation { .. }));
    caller.send(&call(2, "com.nothing")).await;
    assert!(matches!(caller.recv().await, Message::Error { .. }));
    caller
        .send(&Message::Publish {
            request: 3,
            options: Dict::new(),
            topic: "com.news".into(),
            payload: Payload::empty(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Event { .. }));

    let response = http_get(addr, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains("content-type: text/plain; version=0.0.4"),
        "{response}"
    );
    let m = response.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(sample(m, "wamp_sessions{realm=\"realm1\"}"), Some(2), "{m}");
    assert_eq!(sample(m, "wamp_sessions{realm=\"realm2\"}"), Some(0), "{m}");
    assert_eq!(
        sample(m, "wamp_calls_in_flight{realm=\"realm1\"}"),
        Some(1),
        "{m}"
    );
    for (series, n) in [
        ("wamp_messages_received_total{type=\"HELLO\"}", 2),
        ("wamp_messages_received_total{type=\"CALL\"}", 2),
        ("wamp_messages_received_total{type=\"PUBLISH\"}", 1),
        ("wamp_messages_sent_total{type=\"WELCOME\"}", 2),
        ("wamp_messages_sent_total{type=\"INVOCATION\"}", 1),
        ("wamp_messages_sent_total{type=\"EVENT\"}", 1),
        ("wamp_messages_sent_total{type=\"ERROR\"}", 1),
        ("wamp_errors_total{uri=\"wamp.error.no_such_procedure\"}", 1),
        ("wamp_events_dropped_total", 0),
        ("wamp_payloads_transcoded_total", 1),
    ] {
        assert_eq!(sample(m, series), Some(n), "{series} in\n{m}");
    }
    assert!(sample(m, "wamp_bytes_received_total").unwrap() > 0);
    assert!(sample(m, "wamp_bytes_sent_total").unwrap() > 0);
    for family in [
        "wamp_sessions",
        "wamp_messages_sent_total",
        "wamp_errors_total",
    ] {
        assert!(
            m.contains(&format!("# TYPE {family} ")),
            "{family} has a TYPE line"
        );
    }
    let stats = r.stats();
    // HELLO x2, REGISTER, SUBSCRIBE, CALL x2, PUBLISH.
    assert_eq!(stats.messages_received, 7);
    assert!(stats.bytes_sent > 0);

    // What the endpoint refuses.
    assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.1 404 "));
    let post = http_request(addr, "POST /metrics HTTP/1.1\r\ncontent-length: 0\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let huge = format!(
        "GET /health HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(16 * 1024)
    );
    assert!(http_request(addr, &huge).await.starts_with("HTTP/1.1 431 "));
    // A client that connects and says nothing does not hold anything up.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(http_get(addr, "/health")
        .await
        .starts_with("HTTP/1.1 200 OK"));
    r.shutdown().await;
}
