//! Autobahn|JS over the router's HTTP long-poll transport (`examples/web/longpoll.mjs`):
//! in Node.js, and in headless Chromium from a page of another origin (CORS), where it
//! also falls back to long-poll when WebSocket is blocked.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tokio::process::Command;
use wamp_router::Listener;

mod web;

use web::{chromium, web};

/// A router with a page on one port and the long-poll endpoint on another.
async fn router() -> (wamp_router::RouterHandle, String, String, String) {
    let pages = std::env::temp_dir().join(format!("wamp-lp-page-{}", std::process::id()));
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("blank.html"),
        "<!doctype html><title>long-poll</title>",
    )
    .unwrap();
    let local = "127.0.0.1:0".parse().unwrap();
    let r = wamp_router::Router::builder()
        .realm("realm1")
        .listener(Listener::websocket(local).static_path("/", &pages))
        .listener(Listener::websocket(local).longpoll_path("/lp", Listener::endpoint()))
        .start()
        .await
        .unwrap();
    let urls = r.urls();
    let host = |u: &str| {
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        rest.split('/').next().unwrap().to_owned()
    };
    let (page_host, lp_host) = (host(&urls[0]), host(&urls[1]));
    (
        r,
        format!("http://{page_host}/blank.html"),
        format!("http://{lp_host}/lp"),
        format!("ws://{lp_host}/nowhere"),
    )
}

async fn node(web: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new("node")
            .arg("longpoll.mjs")
            .args(args)
            .env("CHROMIUM", chromium())
            .current_dir(web)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node ends in time")
    .expect("node runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_js_in_node_over_long_poll() {
    let web = web().await;
    let (_r, _, lp, _) = router().await;
    let (ok, out) = node(&web, &["node", &lp]).await;
    assert!(ok && out.contains("longpoll ok (node)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_js_in_chromium_over_long_poll_and_falling_back_to_it() {
    let web = web().await;
    let (_r, page, lp, dead) = router().await;
    let (ok, out) = node(&web, &["chromium", &page, &lp, &dead]).await;
    assert!(ok && out.contains("longpoll ok (chromium)"), "{out}");
    assert!(
        out.contains("fallback: call, publish and subscribe ok via longpoll"),
        "{out}"
    );
}
