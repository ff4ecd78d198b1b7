//! The `wamp` binary against Crossbar.io, the reference router (installed by `.ci/run`):
//! register, call, publish and subscribe, and the meta API.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use tests::Crossbar;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(20);

fn wamp(url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wamp"));
    c.args(["--url", url])
        .args(args)
        .env_remove("WAMP_URL")
        .env_remove("WAMP_REALM")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn run(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(WAIT, wamp(url, args).output())
        .await
        .expect("the command ends in time")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Starts a long-running command and waits for its readiness line on stderr.
async fn start(url: &str, args: &[&str]) -> tokio::process::Child {
    let mut child = wamp(url, args).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, err.next_line())
        .await
        .expect("ready in time")
        .unwrap()
        .unwrap_or_default();
    assert!(line.starts_with("wamp: "), "{line}");
    child
}

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
