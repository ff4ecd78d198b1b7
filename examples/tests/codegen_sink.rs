//! A contract with every shape serde and the service macro know, as a new service would
//! have: its generated TypeScript client type-checks under strict settings, and its
//! methods, errors and topic have the types the contract says (`tsc` from the page's
//! npm packages, set up and built as for the browser test).

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code, missing_docs)]

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wamp_cli::codegen::{typescript, Contract};
use wamp_runtime::{service, topic, CallContext, Stream, WampError};

mod web;

/// A colour, as serde tags enums.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub enum Color {
    Red,
    Custom(String),
    Rgb { r: u8, g: u8, b: u8 },
}

/// One line of an order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    pub name: String,
    pub qty: u32,
}

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    pub id: u64,
    pub lines: Vec<Line>,
    pub note: Option<String>,
    pub tags: HashMap<String, i32>,
    pub color: Color,
    pub window: (i64, i64),
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, WampError)]
pub enum ShopError {
    /// No such order.
    #[wamp(uri = "com.example.shop.missing")]
    Missing(u64),
    /// The shop is full.
    #[wamp(uri = "com.example.shop.full")]
    Full { capacity: u32, note: Option<String> },
    #[wamp(other)]
    Other(WampError),
}

/// An order placed in a region.
#[topic("com.example.shop.{region}.placed")]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Placed {
    pub region: String,
    pub order: Order,
}

/// A shop.
#[service(prefix = "com.example.shop", topics(Placed))]
pub trait Shop {
    async fn place(&self, order: Order) -> Result<u64, ShopError>;
    #[wamp(kwargs, result = "kwargs")]
    async fn find(&self, id: u64, with_lines: Option<bool>) -> Result<Order, ShopError>;
    #[wamp(uri = "com.example.shop.files.{*path}")]
    async fn file(&self, path: String) -> Vec<u8>;
    #[wamp(match = "prefix")]
    async fn any(&self, ctx: CallContext);
    #[wamp(result = "args")]
    async fn pair(&self) -> (String, i64);
    fn watch(&self, region: String) -> impl Stream<Item = Result<Order, ShopError>> + Send;
    async fn delete(&self, id: u64);
    #[wamp(uri = "com.example.shop.{region}.count")]
    async fn count(&self, region: u32, #[wamp(rename = "new")] fresh: bool) -> i64;
}

const USE: &str = r#"
import { ShopClient, ShopErrorFull, ShopErrorMissing, PlacedTopic, WampError, type Order, type WampSession } from "./services.js";

export async function use(session: WampSession, order: Order): Promise<void> {
  const shop = new ShopClient(session);
  const id: number = await shop.place(order);
  const found: Order = await shop.find(id);
  const withLines: Order = await shop.find(id, true);
  const bytes: number[] = await shop.file("a.b.c");
  await shop.any("com.example.shop.anything.at.all");
  const [name, n]: [string, number] = await shop.pair();
  for await (const o of shop.watch("north")) { const placed: Order = o; void placed; }
  await shop.delete(id);
  const c: number = await shop.count(7, true);
  const color = order.color;
  if (typeof color === "object" && "Rgb" in color) { const r: number = color.Rgb.r; void r; }
  const note: string | null | undefined = order.note;
  const tags: Record<string, number> = order.tags;
  const kind: string = order.type;
  try { await shop.place(order); } catch (e) {
    if (e instanceof ShopErrorFull) { const cap: number = e.capacity; const why: string | null | undefined = e.note; void [cap, why]; }
    if (e instanceof ShopErrorMissing) { const which: number = e.args[0]; void which; }
    if (e instanceof WampError) { const uri: string = e.uri; void uri; }
  }
  await PlacedTopic.publish(session, { region: "north", order });
  await PlacedTopic.subscribe(session, (p, topic) => void [p.order.id, topic], { region: "north" });
  // @ts-expect-error a count's region is a number
  await shop.count("north", true);
  // @ts-expect-error find's id is a number
  await shop.find("1");
  void [found, withLines, bytes, name, n, c, note, tags, kind];
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_contracts_client_type_checks() {
    let web = web::web().await;
    let module = typescript::generate(&Contract::from_interfaces(&[ShopClient::interface()]));
    if std::env::var_os("SHOW_MODULE").is_some() {
        println!("{module}");
    }
    let dir = std::env::temp_dir().join(format!("wamp-ts-sink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("services.ts"), &module).unwrap();
    std::fs::write(dir.join("use.ts"), USE).unwrap();
    let mut args = web::STRICT.to_vec();
    args.extend(["services.ts", "use.ts"]);
    let (ok, out) = web::tsc(&web, &dir, &args).await;
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{out}\n--- the module:\n{module}");
}
