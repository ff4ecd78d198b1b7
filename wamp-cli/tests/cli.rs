//! The `wamp` binary against the bundled router, as a script would use it: every
//! subcommand, its output, and its exit codes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{start, WAIT};
use tokio::process::Command;
use wamp_router::{Router, RouterHandle};
use wamp_runtime::{Args, Session, WampError};

async fn router() -> RouterHandle {
    Router::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .realm("realm1")
        .start()
        .await
        .unwrap()
}

async fn run(r: &RouterHandle, args: &[&str]) -> (i32, String, String) {
    common::run(&r.url(), args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_prints_results_as_json_and_errors_exit_1() {
    let r = router().await;
    let callee = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let _add = callee
        .register("com.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .unwrap();
    let _echo = callee
        .register(
            "com.echo",
            |args: Args| async move { Ok::<_, WampError>(args) },
        )
        .await
        .unwrap();
    let _nothing = callee
        .register("com.nothing", |_: Args| async move {
            Ok::<_, WampError>(Args::new())
        })
        .await
        .unwrap();

    assert_eq!(run(&r, &["call", "com.add", "2", "3"]).await.1, "5\n");
    let (code, out, _) = run(&r, &["call", "com.echo", "hello", "[1,2]", "\"7\""]).await;
    assert_eq!((code, out.as_str()), (0, "[\"hello\",[1,2],\"7\"]\n"));
    let (_, out, _) = run(
        &r,
        &["call", "com.echo", "1", "--kw", "name=Ada", "--kw", "n=2"],
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"args": [1], "kwargs": {"name": "Ada", "n": 2}})
    );
    assert_eq!(
        run(&r, &["call", "com.nothing"]).await,
        (0, String::new(), String::new())
    );

    let (code, out, err) = run(&r, &["call", "com.missing"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("wamp.error.no_such_procedure"), "{err}");
    let (code, _, err) = run(&r, &["call", "com.add", "two", "3"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("wamp.error.invalid_argument"), "{err}");
    let (code, _, _) = run(&r, &["call"]).await;
    assert_eq!(code, 2, "a usage error");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_prints_a_line_per_event_that_publish_sends() {
    let r = router().await;
    let mut sub = start(
        &r.url(),
        &[
            "subscribe",
            "com.news.",
            "--match",
            "prefix",
            "--count",
            "2",
        ],
        "wamp: subscribed",
    )
    .await;
    assert_eq!(
        run(&r, &["publish", "com.news.a", "\"hi\"", "2"]).await.0,
        0
    );
    assert_eq!(
        run(&r, &["publish", "com.news.b", "--kw", "x=true"])
            .await
            .0,
        0
    );
    let status = tokio::time::timeout(WAIT, sub.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut sub.stdout.take().unwrap(), &mut out)
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["topic"], "com.news.a");
    assert_eq!(lines[0]["args"], serde_json::json!(["hi", 2]));
    assert_eq!(lines[1]["topic"], "com.news.b");
    assert_eq!(lines[1]["kwargs"], serde_json::json!({"x": true}));
    assert!(lines[1]["publication"].as_u64().is_some());
    // A refused publication is reported: topics under wamp. belong to the router.
    let (code, _, err) = run(&r, &["publish", "wamp.nope"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("wamp.error.invalid_uri"), "{err}");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_answers_with_the_commands_output() {
    let r = router().await;
    let _greet = start(
        &r.url(),
        &[
            "register",
            "com.greet",
            "--exec",
            "printf 'hello %s (%s)' \"$1\" \"$WAMP_PROCEDURE\"",
        ],
        "wamp: registered com.greet",
    )
    .await;
    let _json = start(
        &r.url(),
        &[
            "register",
            "com.sum",
            "--exec",
            "echo \"$1\" | tr -d '[]' | tr ',' '+' | bc",
        ],
        "wamp: registered com.sum",
    )
    .await;
    let _fail = start(
        &r.url(),
        &["register", "com.fail", "--exec", "echo broken >&2; exit 3"],
        "wamp: registered com.fail",
    )
    .await;
    let (code, out, err) = run(&r, &["call", "com.greet", "Ada"]).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "\"hello Ada (com.greet)\"\n"),
        "{err}"
    );
    let (code, out, err) = run(&r, &["call", "com.fail"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("wamp.error.runtime_error") && err.contains("broken"),
        "{err}"
    );
    // Output that is JSON comes back as JSON (when bc is there to add).
    if std::process::Command::new("bc")
        .arg("--version")
        .output()
        .is_ok()
    {
        let (code, out, err) = run(&r, &["call", "com.sum", "[1,2,3]"]).await;
        assert_eq!((code, out.as_str()), (0, "6\n"), "{err}");
    }
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_lists_sessions_registrations_and_subscriptions() {
    let r = router().await;
    let other = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let _reg = other
        .register(
            "com.listed",
            |_: Args| async move { Ok::<_, WampError>(()) },
        )
        .await
        .unwrap();
    let _sub = other.subscribe::<Args>("com.watched").await.unwrap();
    let (code, out, err) = run(&r, &["sessions"]).await;
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sessions = doc["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "the other session and this one: {doc}");
    assert!(sessions
        .iter()
        .any(|s| s["session"].as_u64() == Some(other.id())));
    let regs = doc["registrations"].as_array().unwrap();
    let listed = regs
        .iter()
        .find(|g| g["uri"] == "com.listed")
        .expect("listed");
    assert_eq!(listed["callees"], serde_json::json!([other.id()]));
    let subs = doc["subscriptions"].as_array().unwrap();
    let watched = subs
        .iter()
        .find(|s| s["uri"] == "com.watched")
        .expect("listed");
    assert_eq!(watched["subscribers"], serde_json::json!([other.id()]));
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_router_exits_3() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", free.local_addr().unwrap());
    drop(free);
    let out = Command::new(env!("CARGO_BIN_EXE_wamp"))
        .args(["--url", &url, "--timeout", "2", "call", "com.x"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot join realm1"), "{err}");
    let r = router().await;
    let (code, _, err) = run(&r, &["--realm", "nowhere", "sessions"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("wamp.error.no_such_realm"), "{err}");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_reconnect_outlives_a_router_restart() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let r = router().await;
    let addr = r.local_addr();
    let url = r.url();
    let mut callee = common::wamp(
        &url,
        &["register", "com.echo", "--exec", "echo $1", "--reconnect"],
    )
    .spawn()
    .unwrap();
    let mut err = BufReader::new(callee.stderr.take().unwrap()).lines();
    let mut expect_line = async |what: &str| {
        let line = tokio::time::timeout(WAIT, err.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .unwrap_or_default();
        assert!(line.starts_with(what), "{line}");
    };
    expect_line("wamp: registered com.echo").await;
    let (code, out, _) = common::run(&url, &["call", "com.echo", "one"]).await;
    assert_eq!((code, out.trim()), (0, "\"one\""));

    r.shutdown().await;
    expect_line("wamp: disconnected").await;
    let r = Router::builder()
        .listen(addr)
        .realm("realm1")
        .start()
        .await
        .unwrap();
    expect_line("wamp: reconnected as session").await;
    let (code, out, _) = common::run(&url, &["call", "com.echo", "two"]).await;
    assert_eq!((code, out.trim()), (0, "\"two\""));
    r.shutdown().await;
}

/// The issue-15 reproduction: a displaced `wamp register` used to die on the revocation
/// message it could not decode; now it says the router took the procedure and exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_ends_when_the_router_takes_the_procedure_away() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let r = router().await;
    let mut victim = common::wamp(
        &r.url(),
        &["register", "com.test.victim", "--exec", "echo hi"],
    )
    .spawn()
    .unwrap();
    let mut err = BufReader::new(victim.stderr.take().unwrap());
    let mut ready = String::new();
    tokio::time::timeout(WAIT, err.read_line(&mut ready))
        .await
        .unwrap()
        .unwrap();
    assert!(
        ready.starts_with("wamp: registered com.test.victim"),
        "{ready}"
    );
    let thief = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let _taken = thief
        .register("com.test.victim", |_: Args| async {
            Ok::<_, WampError>("thief")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    let status = tokio::time::timeout(WAIT, victim.wait())
        .await
        .unwrap()
        .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).await.unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(
        rest.contains("wamp.error.unregistered") && rest.contains("took com.test.victim away"),
        "{rest}"
    );
    r.shutdown().await;
}
