//! A sensor: publishes the temperature of one room to
//! `com.example.sensor.{room}.temperature`.
//!
//! `cargo run -p examples --example sensor_publisher -- --room kitchen --count 5`

use std::time::Duration;

use clap::Parser;
use examples::sensors::Temperature;
use examples::{init_logs, Opts};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    opts: Opts,
    /// The room this sensor is in.
    #[arg(long, default_value = "kitchen")]
    room: String,
    /// How many readings to publish.
    #[arg(long, default_value_t = 5)]
    count: u32,
    /// Milliseconds between readings.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    let session = args.opts.session().connect().await?;
    for i in 0..args.count {
        let reading = Temperature {
            room: args.room.clone(),
            celsius: 20.0 + f64::from(i) * 0.5,
        };
        reading.publish(&session).acknowledge().await?;
        println!(
            "sensor_publisher: {} is at {} °C",
            reading.room, reading.celsius
        );
        if i + 1 < args.count {
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
    }
    session.leave().await?;
    Ok(())
}
