//! The whole picture in one program, typed end to end: an embedded router; the calculator
//! and home services and a temperature subscriber joined in-process (no socket); and a
//! caller joined over WebSocket with MessagePack, as a separate program would, calling
//! through the generated stubs and publishing the typed topic.
//!
//! `cargo run -p examples --example demo`  (`-- --listen 127.0.0.1:8080 --keep-running`
//! leaves the router and the services up for the other examples and other WAMP clients)

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use examples::calculator::{Calc, Calculator, CalculatorClient};
use examples::home::{Home, HomeClient, House, Temperature, TemperatureKey};
use examples::init_logs;
use futures_util::StreamExt;
use wamp_router::Router;
use wamp_runtime::{Serializer, ServiceError, Session};

#[derive(Debug, Parser)]
struct Args {
    /// The router's WebSocket address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The realm to serve and join.
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// Keep the router and the services running after the demo (until Ctrl-C).
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

    // The services and a subscriber live in this process: they join in-process.
    let services = Session::builder(router.endpoint(), args.realm.as_str())
        .connect()
        .await?;
    let _calculator = Calc.register_on(&services).await?;
    let _home = House.register_on(&services).await?;
    let mut temperatures = Temperature::subscribe(&services, TemperatureKey::any()).await?;

    // The caller joins over WebSocket with MessagePack, like another program would, and
    // calls through the stubs generated from the contracts.
    let client = Session::builder(router.url(), args.realm.as_str())
        .serializer(Serializer::MsgPack)
        .connect()
        .await?;
    let calc = CalculatorClient::new(client.clone()).timeout(Duration::from_secs(5));
    println!("demo: calc.add(2, 3) = {}", calc.add(2, 3).await?);
    match calc.divide(1.0, 0.0).await {
        Err(ServiceError::App(e)) => println!("demo: calc.divide(1, 0) -> {e:?}"),
        other => println!("demo: calc.divide(1, 0) -> {other:?}"),
    }
    let home = HomeClient::new(client.clone()).timeout(Duration::from_secs(5));
    let r = home.read("kitchen".into(), Some("F".into())).await?;
    println!(
        "demo: home.read(room=kitchen, unit=F) = {} {} (keyword arguments both ways)",
        r.temperature, r.unit
    );
    let on = home.switch("hall".into(), true).await?;
    println!("demo: home.switch(hall, true) called com.example.home.light.hall.switch -> {on}");
    match home.unlock().await {
        Err(ServiceError::App(e)) => println!("demo: home.unlock() -> {e:?}"),
        other => println!("demo: home.unlock() -> {other:?}"),
    }
    for (room, celsius) in [("kitchen", 21.5), ("hall", 18.0), ("attic", 12.0)] {
        Temperature {
            room: room.into(),
            celsius,
        }
        .publish(&client)
        .acknowledge()
        .await?;
    }
    for _ in 0..3 {
        match tokio::time::timeout(Duration::from_secs(5), temperatures.next()).await {
            Ok(Some(Ok(e))) => println!(
                "demo: event {}: {} °C (from the topic com.example.sensor.{{room}}.temperature)",
                e.data.room, e.data.celsius
            ),
            other => return Err(format!("expected an event, got {other:?}").into()),
        }
    }
    client.leave().await?;

    if args.keep_running {
        println!("demo: the router and the services keep running (Ctrl-C to stop)");
        tokio::signal::ctrl_c().await?;
    }
    drop(temperatures);
    services.leave().await?;
    router.shutdown().await;
    println!("demo: done");
    Ok(())
}
