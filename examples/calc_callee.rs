//! The calculator service (`examples::calculator::Calc`), registered with one call, until
//! Ctrl-C. It reconnects by itself when the router goes away and comes back
//! (`--max-attempts N` to give up after N failed attempts).
//!
//! `cargo run -p examples --example calc_callee -- --url ws://127.0.0.1:8080/ws`

use clap::Parser;
use examples::calculator::{Calc, Calculator};
use examples::{init_logs, Opts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let opts = Opts::parse();
    let session = examples::connect_long_running(&opts, "calc_callee").await?;
    let _calc = Calc.register_on(&session).await?;
    println!("calc_callee: serves com.example.calc.* (Ctrl-C to stop)");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => session.leave().await?,
        reason = session.closed() => return Err(format!("session closed: {reason}").into()),
    }
    Ok(())
}
