//! The README's "Typed services and topics" section, compiled and run: every snippet of
//! it is here, around an embedded router (the test suite runs this program).
//!
//! `cargo run -p examples --example typed_tour`

// The items are the README's, as short as it shows them.
#![allow(missing_docs)]

use std::future::IntoFuture;
use std::time::Duration;

use wamp_router::Router;
use wamp_runtime::{
    service, topic, CallContext, CancelMode, ServiceError, Session, StreamExt, WampError,
};

#[derive(Debug, Clone, PartialEq, WampError)]
pub enum CalcError {
    #[wamp(uri = "com.example.calc.division_by_zero")]
    DivisionByZero,
    #[wamp(uri = "com.example.calc.overflow")]
    Overflow { limit: i64 }, // named fields travel as kwargs, tuple fields as args
}

#[service(prefix = "com.example.calc")]
pub trait Calculator {
    /// com.example.calc.add
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError>;
    #[wamp(uri = "com.example.whoami", disclose_caller, timeout_ms = 5000)]
    async fn whoami(&self, ctx: CallContext) -> String;
}

// The callee: implement the trait, register every procedure with one call.
struct Calc;
impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError> {
        a.checked_add(b)
            .ok_or(CalcError::Overflow { limit: i64::MAX })
    }
    async fn whoami(&self, ctx: CallContext) -> String {
        format!("{:?}", ctx.caller)
    }
}

#[topic("com.example.sensor.{room}.temperature")] // above the derive
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Temperature {
    pub room: String,
    pub celsius: f64,
}

/// The service snippet: register, call through the stub, configure calls.
async fn services(session: &Session) -> Result<(), Box<dyn std::error::Error>> {
    let registered = Calc.register_on(session).await?; // dropping it unregisters them all

    // The caller: a generated stub with the trait's types.
    let calc = CalculatorClient::new(session.clone());
    let five = calc.add(2, 3).await?;
    match calc.add(i64::MAX, 1).await {
        Err(ServiceError::App(CalcError::Overflow { limit })) => {
            println!("tour: overflow past {limit}") // the same variant
        }
        other => return Err(format!("expected an overflow, got {other:?}").into()),
    }

    // A call may be configured before it is awaited, and a stub gives defaults to all
    // its calls.
    let patient = CalculatorClient::new(session.clone()).timeout(Duration::from_secs(5));
    let sum = patient
        .add(2, 3)
        .timeout(Duration::from_millis(500))
        .disclose_me()
        .await?;
    let call = calc.add(4, 5);
    let cancel = call.cancel_handle();
    let running = tokio::spawn(call.into_future()); // std::future::IntoFuture
    cancel.cancel(CancelMode::Kill)?; // or Skip, KillNoWait
                                      // The call was canceled, or had answered already: either is fine here.
    let _ = running.await?;
    println!("tour: add(2, 3) = {five}, with options {sum}");
    println!("tour: whoami = {}", calc.whoami().await?);
    registered.unregister().await?;
    Ok(())
}

/// The topic snippet: subscribe by key, publish from another session, read the room back.
async fn topics(
    session: &Session,
    other_session: &Session,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut all = Temperature::subscribe(session, TemperatureKey::any()).await?; // a wildcard
    let mut kitchen =
        Temperature::subscribe(session, TemperatureKey::any().room("kitchen")).await?;
    // (from another session: a publisher does not receive its own events unless it asks,
    //  with `.exclude_me(false)`)
    Temperature {
        room: "kitchen".into(),
        celsius: 21.5,
    }
    .publish(other_session)
    .acknowledge()
    .await?;
    if let Some(Ok(event)) = all.next().await {
        println!("tour: {:?}: {} °C", event.key.room, event.data.celsius); // the room, typed
    }
    if let Some(Ok(event)) = kitchen.next().await {
        println!(
            "tour: the kitchen subscription got {} °C",
            event.data.celsius
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::init_logs();
    let router = Router::builder().realm("realm1").start().await?;
    let session = Session::builder(router.endpoint(), "realm1")
        .connect()
        .await?;
    let other_session = Session::builder(router.endpoint(), "realm1")
        .connect()
        .await?;
    services(&session).await?;
    topics(&session, &other_session).await?;
    router.shutdown().await;
    println!("tour: done");
    Ok(())
}
