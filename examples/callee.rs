//! A callee: serves `com.example.add`, `com.example.greet` and `com.example.divide` until
//! Ctrl-C, then leaves.
//!
//! `cargo run -p examples --example callee -- --url ws://127.0.0.1:8080/ws --realm realm1`

use clap::Parser;
use examples::{init_logs, register_example_service, Opts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let opts = Opts::parse();
    let session = examples::connect_long_running(&opts, "callee").await?;
    let _registrations = register_example_service(&session).await?;
    println!(
        "callee: session {} serves com.example.add, .greet and .divide on {} (Ctrl-C to stop)",
        session.id(),
        opts.url
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => session.leave().await?,
        reason = session.closed() => return Err(format!("session closed: {reason}").into()),
    }
    Ok(())
}
