//! Listens to temperatures: of every room (a wildcard subscription), or of one room with
//! `--room`. The room of each reading comes back typed, from its topic.
//!
//! `cargo run -p examples --example sensor_subscriber -- [--room kitchen] [--count 5]`

use clap::Parser;
use examples::sensors::{Temperature, TemperatureKey};
use examples::{init_logs, Opts};
use futures_util::StreamExt;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    opts: Opts,
    /// Only this room (default: every room).
    #[arg(long)]
    room: Option<String>,
    /// Stop after this many readings (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    let session = examples::connect_long_running(&args.opts, "sensor_subscriber").await?;
    let key = match &args.room {
        Some(room) => TemperatureKey::any().room(room.as_str()),
        None => TemperatureKey::any(),
    };
    let mut readings = Temperature::subscribe(&session, key).await?;
    println!("sensor_subscriber: listening to {}", readings.topic());
    let mut seen = 0;
    loop {
        let next = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            n = readings.next() => n,
        };
        match next {
            Some(Ok(event)) => {
                let room = event.key.room.unwrap_or_default();
                println!("sensor_subscriber: {room}: {} °C", event.data.celsius);
                seen += 1;
                if Some(seen) == args.count {
                    break;
                }
            }
            Some(Err(e)) => eprintln!("sensor_subscriber: {e}"),
            None => break,
        }
    }
    drop(readings);
    session.leave().await?;
    Ok(())
}
