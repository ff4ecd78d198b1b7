//! A publisher: publishes `com.example.tick` events, one a second.
//!
//! `cargo run -p examples --example publisher -- --count 5`

use std::time::Duration;

use clap::Parser;
use examples::{init_logs, Opts, Tick};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    opts: Opts,
    /// How many events to publish.
    #[arg(long, default_value_t = 5)]
    count: u64,
    /// Milliseconds between events.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    let session = args.opts.session().connect().await?;
    let source = format!("publisher-{}", session.id());
    for n in 1..=args.count {
        // Acknowledged: the router confirms each publication (or returns its error).
        session
            .publish(
                "com.example.tick",
                Tick {
                    n,
                    source: source.clone(),
                },
            )
            .acknowledge()
            .await?;
        println!("publisher: tick {n}");
        if n < args.count {
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
    }
    session.leave().await?;
    Ok(())
}
