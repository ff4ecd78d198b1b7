//! The `wamp-router` binary as a user runs it: flags, realms, and a clean shutdown on
//! SIGTERM that says GOODBYE `wamp.close.system_shutdown` to every session; with a
//! configuration file it serves what the file says, and a file with a mistake stops it at
//! start with the file, line and key.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wamp_runtime::proto::{close, error, Dict, Message, Value};
use wamp_runtime::{Serializer, Session};

const WAIT: Duration = Duration::from_secs(10);

fn hello(realm: &str) -> String {
    let mut roles = Dict::new();
    roles.insert("caller".into(), Value::Dict(Dict::new()));
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles));
    let frame = Serializer::Json
        .encode(&Message::Hello {
            realm: realm.into(),
            details,
        })
        .unwrap();
    String::from_utf8(frame.to_vec()).unwrap()
}

async fn next_message<S>(ws: &mut S) -> Option<Message>
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")?
        {
            Ok(WsMessage::Text(t)) => return Some(Serializer::Json.decode(&t.into()).unwrap()),
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Starts the binary with `args`; returns it and the URL it prints first.
type StdoutLines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Starts the binary with `args` (stderr as given) and reads its first stdout line.
async fn spawn(
    args: &[&std::ffi::OsStr],
    stderr: Stdio,
) -> (tokio::process::Child, String, StdoutLines) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wamp-router"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    (child, line, lines)
}

/// Starts the binary and returns it with the URL of its first listener.
async fn start(args: &[&std::ffi::OsStr]) -> (tokio::process::Child, String) {
    let (child, line, _) = spawn(args, Stdio::null()).await;
    let url = line
        .strip_prefix("wamp-router listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    (child, url)
}

fn os_args<'a>(args: &'a [&'a str]) -> Vec<&'a std::ffi::OsStr> {
    args.iter().map(std::ffi::OsStr::new).collect()
}

#[tokio::test]
async fn runs_with_flags_and_shuts_down_cleanly_on_sigterm() {
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--realm",
        "alpha",
        "--realm",
        "beta",
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let (mut child, url) = start(&args).await;
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");

    let connect = || async {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("wamp.2.json"),
        );
        tokio_tungstenite::connect_async(req)
            .await
            .expect("connects")
            .0
    };
    // realm1 is only the default when no --realm is given.
    let mut ws = connect().await;
    ws.send(WsMessage::Text(hello("realm1").into()))
        .await
        .unwrap();
    match next_message(&mut ws).await {
        Some(Message::Abort { reason, .. }) => assert_eq!(reason, error::NO_SUCH_REALM),
        other => panic!("{other:?}"),
    }
    let mut ws = connect().await;
    ws.send(WsMessage::Text(hello("beta").into()))
        .await
        .unwrap();
    assert!(matches!(
        next_message(&mut ws).await,
        Some(Message::Welcome { .. })
    ));

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        next_message(&mut ws).await,
        Some(Message::goodbye(close::SYSTEM_SHUTDOWN))
    );
    let bye = Serializer::Json
        .encode(&Message::goodbye(close::GOODBYE_AND_OUT))
        .unwrap();
    ws.send(WsMessage::Text(
        String::from_utf8(bye.to_vec()).unwrap().into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_message(&mut ws).await, None);
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

fn write_config(text: &str) -> PathBuf {
    let unique = format!(
        "wamp-router-cli-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("router.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const CONFIG: &str = r#"
[router]
anonymous = false

[[listener]]
type = "websocket"
address = "127.0.0.1:0"

[[realm]]
name = "realm1"

[[principal]]
authid = "alice"
realm = "realm1"
role = "user"
ticket = "alice-ticket"
"#;

#[tokio::test]
async fn serves_what_the_configuration_file_says() {
    let path = write_config(CONFIG);
    let (mut router, url) = start(&["--config".as_ref(), path.as_os_str()]).await;
    let s = Session::builder(url.as_str(), "realm1")
        .ticket("alice", "alice-ticket")
        .connect()
        .await
        .unwrap();
    assert_eq!(s.authrole().as_deref(), Some("user"));
    let anonymous = Session::builder(url.as_str(), "realm1").connect().await;
    assert!(anonymous.is_err(), "anonymous = false");
    router.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_mistake_stops_it_with_the_file_line_and_key() {
    let path = write_config(&CONFIG.replace("127.0.0.1:0", "localhost"));
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_wamp-router"))
            .arg("--config")
            .arg(&path)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:7:11: address:", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn keygen_prints_a_matching_key_pair() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wamp-router"))
        .arg("--keygen")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let keys: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    let key = wamp_runtime::CryptosignKey::from_hex(keys[0]).unwrap();
    assert_eq!(key.public_key_hex(), keys[1], "{text}");
    assert_eq!(key.private_key_hex(), keys[0]);
}

#[tokio::test]
async fn serves_health_and_metrics_with_the_metrics_flag() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let args = os_args(&["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]);
    let (_child, first, mut lines) = spawn(&args, Stdio::null()).await;
    assert!(first.starts_with("wamp-router listening on ws://"));
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = line
        .strip_prefix("wamp-router health and metrics on http://")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    for (path, expected) in [
        ("/health", "ok"),
        ("/metrics", "wamp_sessions{realm=\"realm1\"} 0"),
    ] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        tokio::time::timeout(WAIT, s.read_to_string(&mut out))
            .await
            .unwrap()
            .unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(out.contains(expected), "{out}");
    }
}

#[tokio::test]
async fn json_logs_carry_the_session_identity() {
    let args = os_args(&["--listen", "127.0.0.1:0", "--log-format", "json"]);
    let (mut child, line, _) = spawn(&args, Stdio::piped()).await;
    let url = line
        .strip_prefix("wamp-router listening on ")
        .unwrap()
        .to_owned();
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("wamp.2.json"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(WsMessage::Text(hello("realm1").into()))
        .await
        .unwrap();
    let Some(Message::Welcome { session, details }) = next_message(&mut ws).await else {
        panic!("no WELCOME");
    };
    let authid = details
        .get("authid")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    let joined = tokio::time::timeout(WAIT, async {
        while let Some(line) = logs.next_line().await.unwrap() {
            if line.contains("session joined") {
                return line;
            }
        }
        panic!("no more logs");
    })
    .await
    .expect("a log line about the join");
    assert!(joined.starts_with('{') && joined.ends_with('}'), "{joined}");
    for field in [
        format!("\"session\":{session}"),
        "\"realm\":\"realm1\"".to_owned(),
        format!("\"authid\":\"{authid}\""),
        "\"authrole\":\"anonymous\"".to_owned(),
    ] {
        assert!(joined.contains(&field), "{field} in {joined}");
    }
}

/// A free loopback port (free when this returns; the router binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_reconnecting_service_survives_the_router_being_killed_and_restarted() {
    let listen = format!("127.0.0.1:{}", free_port());
    let args = ["--listen", listen.as_str()];
    let (mut router, url) = start(&os_args(&args)).await;
    let policy = wamp_runtime::ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(50))
        .max_delay(Duration::from_millis(300));
    let callee = Session::builder(url.as_str(), "realm1")
        .reconnect(policy)
        .connect()
        .await
        .unwrap();
    let _double = callee
        .register("com.example.double", |(n,): (i64,)| async move {
            Ok::<_, wamp_runtime::WampError>(n * 2)
        })
        .await
        .unwrap();
    let mut lifecycle = callee.lifecycle();

    // kill -9: no GOODBYE, the connection just breaks.
    router.start_kill().unwrap();
    router.wait().await.unwrap();
    let back = async {
        let mut disconnected = false;
        while let Some(event) = lifecycle.next().await {
            match event {
                wamp_runtime::SessionEvent::Disconnected { .. } => disconnected = true,
                wamp_runtime::SessionEvent::Reconnected { failed, .. } if disconnected => {
                    return failed;
                }
                _ => {}
            }
        }
        panic!("the lifecycle ended");
    };
    let (_router, _) = start(&os_args(&args)).await;
    let failed = tokio::time::timeout(WAIT, back)
        .await
        .expect("back in time");
    assert!(failed.is_empty(), "{failed:?}");

    let caller = Session::builder(url.as_str(), "realm1")
        .connect()
        .await
        .unwrap();
    let four: i64 = caller.call("com.example.double", (2,)).await.unwrap();
    assert_eq!(four, 4);
}
