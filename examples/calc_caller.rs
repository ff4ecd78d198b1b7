//! Calls the calculator through its generated stub: wrong argument types would not
//! compile, and the service's errors come back as `CalcError` values.
//!
//! `cargo run -p examples --example calc_caller -- --url ws://127.0.0.1:8080/ws`

use clap::Parser;
use examples::calculator::{CalcError, CalculatorClient};
use examples::{init_logs, Opts};
use wamp_runtime::ServiceError;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let opts = Opts::parse();
    let session = opts.session().connect().await?;
    let calc = CalculatorClient::new(session.clone());

    println!("calc_caller: add(2, 3) = {}", calc.add(2, 3).await?);
    println!(
        "calc_caller: divide(1, 4) = {}",
        calc.divide(1.0, 4.0).await?
    );
    println!(
        "calc_caller: sum([1, 2, 3]) = {}",
        calc.sum(vec![1, 2, 3]).await?
    );
    println!("calc_caller: whoami = {}", calc.whoami().await?);
    match calc.divide(1.0, 0.0).await {
        Err(ServiceError::App(CalcError::DivisionByZero)) => {
            println!("calc_caller: divide(1, 0) -> CalcError::DivisionByZero")
        }
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    match calc.add(i64::MAX, 1).await {
        Err(ServiceError::App(CalcError::Overflow { limit })) => {
            println!("calc_caller: add(MAX, 1) -> CalcError::Overflow {{ limit: {limit} }}")
        }
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    session.leave().await?;
    Ok(())
}
