//! The `wamp` binary against Crossbar.io, the reference router (installed by `.ci/run`):
//! register, call, publish and subscribe, and the meta API.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{run, start, WAIT};
use tests::Crossbar;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_works_against_crossbar() {
    let node = Crossbar::start().await;
    let url = node.url();
    let _callee = start(
        &url,
        &[
            "register",
            "com.cli.greet",
            "--exec",
            "printf 'hi %s' \"$1\"",
        ],
        "wamp: registered",
    )
    .await;
    let (code, out, err) = run(&url, &["call", "com.cli.greet", "Ada"]).await;
    assert_eq!((code, out.as_str()), (0, "\"hi Ada\"\n"), "{err}");
    let (code, _, err) = run(&url, &["call", "com.cli.missing"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("wamp.error.no_such_procedure"), "{err}");

    let mut sub = start(
        &url,
        &[
            "subscribe",
            "com.cli.news",
            "--count",
            "1",
            "--serializer",
            "msgpack",
        ],
        "wamp: subscribed",
    )
    .await;
    let (code, _, err) = run(
        &url,
        &["publish", "com.cli.news", "1", "two", "--kw", "k=[3]"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let status = tokio::time::timeout(WAIT, sub.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let mut line = String::new();
    sub.stdout
        .take()
        .unwrap()
        .read_to_string(&mut line)
        .await
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(event["args"], serde_json::json!([1, "two"]));
    assert_eq!(event["kwargs"], serde_json::json!({"k": [3]}));

    let (code, out, err) = run(&url, &["sessions"]).await;
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        doc["sessions"].as_array().is_some_and(|s| s.len() >= 2),
        "{doc}"
    );
    assert!(
        doc["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["uri"] == "com.cli.greet"),
        "{doc}"
    );
}
