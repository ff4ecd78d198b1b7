//! A subscriber: prints `com.example.tick` events as they come.
//!
//! `cargo run -p examples --example subscriber -- --count 5`

use clap::Parser;
use examples::{init_logs, Opts, Tick};
use futures_util::StreamExt;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    opts: Opts,
    /// Stop after this many events (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    let session = examples::connect_long_running(&args.opts, "subscriber").await?;
    let mut ticks = session.subscribe::<Tick>("com.example.tick").await?;
    println!("subscriber: listening to com.example.tick (Ctrl-C to stop)");
    let mut seen = 0;
    loop {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            e = ticks.next() => e,
        };
        match event {
            Some(Ok(e)) => {
                println!("subscriber: tick {} from {}", e.data.n, e.data.source);
                seen += 1;
                if Some(seen) == args.count {
                    break;
                }
            }
            Some(Err(e)) => eprintln!("subscriber: {e}"),
            None => break,
        }
    }
    drop(ticks);
    session.leave().await?;
    Ok(())
}
