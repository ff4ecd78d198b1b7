//! The browser demo end to end: `web_demo` serves the page (built by
//! `examples/web/build.sh` with Autobahn|JS from npm) and its WAMP endpoint; headless
//! Chromium, driven by playwright-core (`examples/web/test.mjs`), loads it, clicks the
//! button that calls the Rust calculator and waits for the Rust topic's events.
//! `.ci/run` installs Chromium and Node.js and builds the page.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_calls_rust_and_shows_rust_events_in_chromium() {
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let needed = [
        web.join("dist/autobahn.min.js"),
        web.join("node_modules/playwright-core"),
        PathBuf::from(&chromium),
    ];
    if !needed.iter().all(|p| p.exists()) {
        // Set up the first time, as the Python virtualenvs are: Node.js and Chromium with
        // apt-get when missing (as root), then the page.
        let status = Command::new("bash")
            .arg(web.join("setup.sh"))
            .status()
            .await
            .expect("bash runs");
        assert!(status.success(), "examples/web/setup.sh failed");
    }
    let exe = std::env::current_exe().unwrap();
    let demo = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/web_demo");
    let mut server = Command::new(&demo)
        .args(["--listen", "127.0.0.1:0", "--every-ms", "200"])
        .arg("--web")
        .arg(web.join("dist"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("web_demo starts");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("web_demo prints its URL")
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("web_demo: open ")
        .unwrap_or_else(|| panic!("{line}"));
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new("node")
            .arg("test.mjs")
            .arg(url)
            .env("CHROMIUM", &chromium)
            .current_dir(&web)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser test ends in time")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("browser demo ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
