//! The `wamp-router` binary: started with a configuration file it serves what the file
//! says; a file with a mistake stops it at start with the file, line and key.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wamp_runtime::Session;

const WAIT: Duration = Duration::from_secs(20);

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
    let mut router = Command::new(env!("CARGO_BIN_EXE_wamp-router"))
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(router.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("wamp-router listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let s = Session::builder(url.as_str(), "realm1")
        .ticket("alice", "alice-ticket")
        .connect()
        .await
        .unwrap();
    assert_eq!(s.authrole(), Some("user"));
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
        Command::new(env!("CARGO_BIN_EXE_wamp-router"))
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
