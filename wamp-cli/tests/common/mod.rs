//! Running the `wamp` binary from a test, as a script would.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long one command may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// `wamp --url URL ARGS…`, with no WAMP_* variables from the environment.
pub fn wamp(url: &str, args: &[&str]) -> Command {
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

/// Runs a command to its end: exit code, stdout, stderr.
pub async fn run(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(WAIT, wamp(url, args).output())
        .await
        .expect("the command ends in time")
        .expect("wamp runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

/// Starts a long-running command and waits for its readiness line on stderr, which must
/// start with `ready`.
pub async fn start(url: &str, args: &[&str], ready: &str) -> Child {
    let mut child = wamp(url, args).spawn().expect("wamp starts");
    let mut err = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let line = tokio::time::timeout(WAIT, err.next_line())
        .await
        .expect("ready in time")
        .expect("reads")
        .unwrap_or_default();
    assert!(line.starts_with(ready), "{line}");
    child
}
