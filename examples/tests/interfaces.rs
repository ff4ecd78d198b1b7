//! Snapshot tests of the example contracts' interface descriptions: a change to a
//! contract that changes its wire shape shows here as a changed description. After an
//! intended change, write them again with
//! `cargo run -p examples --example export_interfaces` and review the diff. The browser
//! page's TypeScript client is generated from them, and checked the same way.

#![allow(clippy::expect_used)]

use examples::calculator::CalculatorClient;
use examples::home::HomeClient;
use wamp_runtime::interface::{Interface, Kind};

fn snapshot(file: &str, interface: &Interface) {
    let path = format!("{}/interfaces/{file}", env!("CARGO_MANIFEST_DIR"));
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        stored,
        interface.to_json_pretty() + "\n",
        "{path} is not the contract's description: if the change is intended, run \
         `cargo run -p examples --example export_interfaces` and review the diff"
    );
    let read: Interface = serde_json::from_str(&stored).expect("the snapshot reads back");
    assert_eq!(&read, interface, "the description survives JSON");
}

#[test]
fn calculator_description_is_the_snapshot() {
    snapshot("calculator.json", &CalculatorClient::interface());
}

#[test]
fn home_description_with_the_sensor_topic_is_the_snapshot() {
    snapshot("home.json", &HomeClient::interface());
}

#[test]
fn the_pages_typescript_client_is_generated_from_the_contracts() {
    use wamp_cli::codegen::{typescript, Contract};
    let contract =
        Contract::from_interfaces(&[CalculatorClient::interface(), HomeClient::interface()]);
    let path = format!("{}/web/services.ts", env!("CARGO_MANIFEST_DIR"));
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == typescript::generate(&contract),
        "{path} is not what `wamp codegen typescript` writes from the contracts: run \
         `cargo run -p examples --example export_interfaces` and review the diff"
    );
}

#[test]
fn each_item_stands_alone_with_the_definitions_it_needs() {
    let home = HomeClient::interface();
    let docs = home.documents();
    let read = docs
        .iter()
        .find(|d| d.kind == Kind::Procedure && d.uri == "com.example.home.read")
        .expect("read is described");
    assert_eq!(read.json["interface"], "Home");
    assert!(read.json["$defs"]["Reading"].is_object(), "{}", read.json);
    assert!(
        read.json["$defs"].get("Temperature").is_none(),
        "{}",
        read.json
    );
    let topic = docs
        .iter()
        .find(|d| d.kind == Kind::Topic)
        .expect("the topic is described");
    assert_eq!(topic.uri, "com.example.sensor.{room}.temperature");
    assert!(topic.json["$defs"]["Temperature"].is_object());
    let errors: Vec<&str> = docs
        .iter()
        .filter(|d| d.kind == Kind::Error)
        .map(|d| d.uri.as_str())
        .collect();
    assert_eq!(
        errors,
        ["wamp.error.not_authorized", "com.example.home.no_such_room"]
    );
}
