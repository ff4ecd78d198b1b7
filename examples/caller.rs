//! A caller: calls the example service (run the `callee` example first) and prints the
//! answers, errors included.
//!
//! `cargo run -p examples --example caller -- --url ws://127.0.0.1:8080/ws --realm realm1`

use std::time::Duration;

use clap::Parser;
use examples::{init_logs, Greeting, Opts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let opts = Opts::parse();
    let session = opts
        .session()
        .call_timeout(Duration::from_secs(10))
        .connect()
        .await?;

    let sum: i64 = session.call("com.example.add", (2, 3)).await?;
    println!("caller: add(2, 3) = {sum}");

    let greeting: String = session
        .call(
            "com.example.greet",
            Greeting {
                name: "Ada".into(),
                excitement: 2,
            },
        )
        .await?;
    println!("caller: greet(name=Ada, excitement=2) = {greeting:?}");

    let quotient: f64 = session.call("com.example.divide", (1.0, 4.0)).await?;
    println!("caller: divide(1, 4) = {quotient}");
    match session.call::<f64>("com.example.divide", (1.0, 0.0)).await {
        Err(e) => println!("caller: divide(1, 0) failed as expected: {e}"),
        Ok(v) => return Err(format!("divide(1, 0) returned {v}").into()),
    }
    session.leave().await?;
    Ok(())
}
