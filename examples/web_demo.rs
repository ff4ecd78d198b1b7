//! WAMP in the browser: the router serves the demo page (`examples/web`, built by
//! `examples/web/build.sh` with Autobahn|JS from npm) and its WebSocket endpoint on one
//! address; the typed calculator service and a typed temperature topic run in-process.
//! Open the printed URL: the page calls `com.example.calc.add` and shows the readings.
//!
//! `bash examples/web/build.sh && cargo run -p examples --example web_demo`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use examples::calculator::{Calc, Calculator};
use examples::init_logs;
use examples::sensors::Temperature;
use wamp_router::{Listener, Router};
use wamp_runtime::Session;

#[derive(Debug, Parser)]
struct Args {
    /// The address of the page and its WebSocket endpoint (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The built page (examples/web/dist).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist"))]
    web: PathBuf,
    /// Milliseconds between temperature readings.
    #[arg(long, default_value_t = 500)]
    every_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    if !args.web.join("autobahn.min.js").is_file() {
        return Err(format!(
            "{} has no built page: run `bash examples/web/build.sh` first",
            args.web.display()
        )
        .into());
    }
    let router = Router::builder()
        .listener(Listener::websocket(args.listen).static_files(&args.web))
        .realm("realm1")
        .start()
        .await?;
    let session = Session::builder(router.endpoint(), "realm1")
        .connect()
        .await?;
    let _calc = Calc.register_on(&session).await?;
    println!("web_demo: open http://{}/", router.local_addr());
    let mut tick = tokio::time::interval(Duration::from_millis(args.every_ms.max(10)));
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                n += 1;
                // A gentle wave around 21 °C.
                let celsius = 21.0 + ((n % 20) as f64 - 10.0).abs() / 10.0;
                let reading = Temperature { room: "lab".into(), celsius };
                reading.publish(&session).await?;
            }
        }
    }
    session.leave().await?;
    router.shutdown().await;
    Ok(())
}
