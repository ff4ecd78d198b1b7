//! The whole picture in one program: an embedded router, the example service and a
//! subscriber joined in-process (no socket), and a caller and publisher joined over
//! WebSocket, as a separate program would.
//!
//! `cargo run -p examples --example demo`  (`-- --listen 127.0.0.1:8080 --keep-running`
//! leaves the router up for the other examples and for other WAMP clients)

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use examples::{init_logs, register_example_service, Greeting, Tick};
use futures_util::StreamExt;
use wamp_router::Router;
use wamp_runtime::{Serializer, Session};

#[derive(Debug, Parser)]
struct Args {
    /// The router's WebSocket address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The realm to serve and join.
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// Keep the router and the example service running after the demo (until Ctrl-C).
    #[arg(long)]
    keep_running: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let args = Args::parse();
    let router = Router::builder()
        .listen(args.listen)
        .realm(args.realm.as_str())
        .start()
        .await?;
    println!("demo: router on {} ({})", router.url(), args.realm);

    // The service and a subscriber live in this process: they join in-process.
    let service = Session::builder(router.endpoint(), args.realm.as_str())
        .connect()
        .await?;
    let _registrations = register_example_service(&service).await?;
    let mut ticks = service.subscribe::<Tick>("com.example.tick").await?;

    // The client joins over WebSocket with MessagePack, like another program would.
    let client = Session::builder(router.url(), args.realm.as_str())
        .serializer(Serializer::MsgPack)
        .call_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let sum: i64 = client.call("com.example.add", (2, 3)).await?;
    println!("demo: add(2, 3) = {sum}");
    let hello: String = client
        .call(
            "com.example.greet",
            Greeting {
                name: "WAMP".into(),
                excitement: 3,
            },
        )
        .await?;
    println!("demo: greet = {hello:?}");
    if let Err(e) = client.call::<f64>("com.example.divide", (1.0, 0.0)).await {
        println!("demo: divide(1, 0) -> {e}");
    }
    for n in 1..=3 {
        let tick = Tick {
            n,
            source: "demo".into(),
        };
        client
            .publish("com.example.tick", tick)
            .acknowledge()
            .await?;
    }
    for _ in 0..3 {
        match tokio::time::timeout(Duration::from_secs(5), ticks.next()).await {
            Ok(Some(Ok(e))) => println!("demo: event tick {} from {}", e.data.n, e.data.source),
            other => return Err(format!("expected an event, got {other:?}").into()),
        }
    }
    client.leave().await?;

    if args.keep_running {
        println!("demo: the router and the example service keep running (Ctrl-C to stop)");
        tokio::signal::ctrl_c().await?;
    }
    drop(ticks);
    service.leave().await?;
    router.shutdown().await;
    println!("demo: done");
    Ok(())
}
