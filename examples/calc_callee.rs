//! The calculator service (see `examples::calculator`), implemented and registered with
//! one call, until Ctrl-C.
//!
//! `cargo run -p examples --example calc_callee -- --url ws://127.0.0.1:8080/ws`

use clap::Parser;
use examples::calculator::{CalcError, Calculator};
use examples::{init_logs, Opts};
use wamp_runtime::CallContext;

struct Calc;

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError> {
        a.checked_add(b)
            .ok_or(CalcError::Overflow { limit: i64::MAX })
    }

    async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError> {
        if b == 0.0 {
            return Err(CalcError::DivisionByZero);
        }
        Ok(a / b)
    }

    async fn sum(&self, values: Vec<i64>) -> i64 {
        values.iter().sum()
    }

    async fn whoami(&self, ctx: CallContext) -> String {
        match (ctx.caller, ctx.caller_authid) {
            (Some(id), Some(authid)) => format!("session {id} ({authid})"),
            (Some(id), None) => format!("session {id}"),
            _ => "someone the router does not disclose".into(),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logs();
    let opts = Opts::parse();
    let session = opts.session().connect().await?;
    let _calc = Calc.register_on(&session).await?;
    println!("calc_callee: serves com.example.calc.* (Ctrl-C to stop)");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => session.leave().await?,
        reason = session.closed() => return Err(format!("session closed: {reason}").into()),
    }
    Ok(())
}
