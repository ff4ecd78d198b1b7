//! The browser demo end to end: `web_demo` serves the page (TypeScript over the client
//! generated from the Rust contracts, built by `examples/web/build.sh` with tsc and
//! Autobahn|JS from npm) and its WAMP endpoint; headless Chromium, driven by
//! playwright-core (`examples/web/test.mjs`), loads it, clicks the button that calls the
//! Rust calculator and waits for the Rust topic's events. The page and the generated
//! client type-check (`tsc --noEmit`), and a wrongly typed call does not. `.ci/run`
//! installs Chromium and Node.js; the first test to need it sets up and builds the page.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

mod web;

use web::{chromium, tsc, web, STRICT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_the_generated_client_type_check() {
    let web = web().await;
    let (ok, out) = tsc(&web, &web, &["-p", "tsconfig.json"]).await;
    assert!(
        ok,
        "the page, the generated client and its type tests:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrongly_typed_call_does_not_type_check() {
    let web = web().await;
    let dir = std::env::temp_dir().join(format!("wamp-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(web.join("services.ts"), dir.join("services.ts")).unwrap();
    let wrong = "import { CalculatorClient, type WampSession } from \"./services.js\";\n\
                 export async function wrong(session: WampSession): Promise<number> {\n\
                 \x20 return new CalculatorClient(session).add(\"2\", 3);\n}\n";
    std::fs::write(dir.join("wrong.ts"), wrong).unwrap();
    let mut args = STRICT.to_vec();
    args.push("services.ts");
    let (ok, out) = tsc(&web, &dir, &args).await;
    assert!(ok, "the generated client alone type-checks:\n{out}");
    args.push("wrong.ts");
    let (ok, out) = tsc(&web, &dir, &args).await;
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok, "add(\"2\", 3) must not type-check");
    assert!(
        out.contains("TS2345")
            && out.contains("'string' is not assignable to parameter of type 'number'"),
        "{out}"
    );
}

/// The client generated from a running router's reflection API (rather than from the
/// description files) passes the same type tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_router_type_checks() {
    use examples::calculator::{Calc, Calculator};
    use examples::home::{Home, House};
    use wamp_cli::codegen::{typescript, Contract};
    let web = web().await;
    let router = wamp_router::Router::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .realm("realm1")
        .start()
        .await
        .unwrap();
    let services = wamp_runtime::Session::builder(router.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _calc = Calc.register_on(&services).await.unwrap();
    let _home = House.register_on(&services).await.unwrap();
    let found = wamp_cli::describe::fetch(&services, None, Duration::from_secs(5))
        .await
        .unwrap();
    let module = typescript::generate(&Contract::from_described(&found));
    let dir = std::env::temp_dir().join(format!("wamp-ts-router-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("services.ts"), module).unwrap();
    std::fs::copy(web.join("type_tests.ts"), dir.join("type_tests.ts")).unwrap();
    let mut args = STRICT.to_vec();
    args.extend(["services.ts", "type_tests.ts"]);
    let (ok, out) = tsc(&web, &dir, &args).await;
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_calls_rust_and_shows_rust_events_in_chromium() {
    let web = web().await;
    let chromium = chromium();
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
