//! `wamp describe` against the bundled router (the reflection API) and Crossbar.io (the
//! description a service serves itself): people's text, `--json`, a prefix, a concrete URI
//! of a pattern procedure, and nothing found.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use common::run;
use tests::Crossbar;
use wamp_runtime::{service, Session, WampError};

/// A service the tests describe.
#[service(prefix = "com.cli.shop")]
trait Shop {
    /// What an item costs, in cents.
    async fn price(
        &self,
        item: String,
        #[wamp(kwarg)] currency: Option<String>,
    ) -> Result<u64, WampError>;
    /// Opens the door of a shelf.
    #[wamp(uri = "com.cli.shop.shelf.{shelf}.open")]
    async fn open(&self, shelf: u32) -> bool;
}

struct Corner;

impl Shop for Corner {
    async fn price(&self, item: String, _currency: Option<String>) -> Result<u64, WampError> {
        Ok(item.len() as u64 * 100)
    }
    async fn open(&self, shelf: u32) -> bool {
        shelf < 10
    }
}

/// A router with the shop registered (and so described).
async fn shop() -> (wamp_router::RouterHandle, wamp_runtime::ServiceRegistration) {
    let r = wamp_router::Router::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .realm("realm1")
        .start()
        .await
        .unwrap();
    let services = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let shop = Corner.register_on(&services).await.unwrap();
    (r, shop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_reads_the_reflection_api() {
    let (r, _shop) = shop().await;
    let url = r.url();

    let (code, out, err) = run(&url, &["describe", "com.cli.shop"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "procedure com.cli.shop.price(item: string, *, currency?: string) -> uint64    [Shop]"
        ),
        "{out}"
    );
    assert!(out.contains("    What an item costs, in cents."), "{out}");
    assert!(out.contains("{shelf}: uint32 (URI component 4)"), "{out}");

    let (code, out, _) = run(&url, &["describe", "com.cli.shop.shelf.7.open", "--json"]).await;
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["procedures"][0]["uri"],
        "com.cli.shop.shelf.{shelf}.open"
    );
    assert_eq!(json["procedures"].as_array().unwrap().len(), 1);

    let (code, out, _) = run(&url, &["describe", "--json"]).await;
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["procedures"].as_array().unwrap().len(), 2);

    let (code, _, err) = run(&url, &["describe", "com.cli.nothing"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("nothing is described"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_reads_what_a_service_serves_on_crossbar() {
    let node = Crossbar::start().await;
    let services = Session::builder(node.url(), "realm1")
        .connect()
        .await
        .unwrap();
    let _shop = Corner.register_on(&services).await.unwrap();
    let url = node.url();
    let (code, out, err) = run(&url, &["describe", "com.cli.shop.price"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("procedure com.cli.shop.price(item: string"),
        "{out}"
    );
    assert!(!out.contains("shelf"), "only what was asked: {out}");
    let (code, out, _) = run(&url, &["describe", "com.cli.shop", "--json"]).await;
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["procedures"].as_array().unwrap().len(), 2);
    let (code, _, err) = run(&url, &["describe"]).await;
    assert_eq!(code, 1, "without reflection, a prefix is needed");
    assert!(err.contains("give the service's URI prefix"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codegen_writes_typescript_from_a_file_or_the_router() {
    let (r, _shop) = shop().await;
    let url = r.url();

    let (code, module, err) = run(&url, &["codegen", "typescript", "com.cli.shop"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(module.contains("export class ShopClient {"), "{module}");
    assert!(
        module.contains("async price(item: string, currency?: string | null): Promise<number>"),
        "{module}"
    );
    assert!(
        module.contains("async open(shelf: number): Promise<boolean>")
            && module.contains("`com.cli.shop.shelf.${component(shelf, \"shelf\")}.open`"),
        "{module}"
    );

    // From a description file: no router needed (this URL has none).
    let dir = std::env::temp_dir().join(format!("wamp-cli-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.json");
    std::fs::write(&file, ShopClient::interface().to_json_pretty()).unwrap();
    let out = dir.join("shop.ts");
    let args = [
        "codegen",
        "typescript",
        "--from",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, _, err) = run("ws://127.0.0.1:9/ws", &args).await;
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("What an item costs, in cents."),
        "{written}"
    );
    assert!(written.contains("async price(item: string"), "{written}");

    std::fs::write(&file, "{\"not\": \"a description\"}").unwrap();
    let (code, _, err) = run("ws://127.0.0.1:9/ws", &args).await;
    assert_eq!(code, 2, "a bad file is a usage error");
    assert!(err.contains("not a wamp-interface description"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
