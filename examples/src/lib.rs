//! What the examples share: their command line (`--url`, `--realm`, `--serializer`), the
//! types of the example API, and log setup.
//!
//! The examples run against our router or any other WAMP router:
//!
//! ```sh
//! cargo run -p wamp-router &                     # or Crossbar.io, or any WAMP router
//! cargo run -p examples --example callee &
//! cargo run -p examples --example caller -- --serializer msgpack
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wamp_runtime::Session;

pub mod home;

/// The command line every example takes: `--url`, `--realm`, `--serializer` and the
/// authentication options, as the `wamp` command-line client takes them.
pub use wamp_cli::ConnectOpts as Opts;

/// Logs to stderr, filtered by `RUST_LOG` (default: warn).
pub use wamp_cli::init_logs;

/// Joins as a long-running example does (a service or a subscriber): with automatic
/// reconnection, so that it comes back by itself when the router restarts, and its
/// disconnections and reconnections printed to stderr under `name`.
pub async fn connect_long_running(
    opts: &Opts,
    name: &'static str,
) -> Result<Session, wamp_runtime::Error> {
    let session = opts
        .session()
        .reconnect(opts.reconnect_policy())
        .connect()
        .await?;
    wamp_cli::report_lifecycle(&session, name);
    Ok(session)
}

/// The kwargs of `com.example.greet`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Greeting {
    /// Who to greet.
    pub name: String,
    /// How enthusiastically.
    pub excitement: u8,
}

/// The payload of `com.example.tick` events.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tick {
    /// Counts up from 1.
    pub n: u64,
    /// Who published it.
    pub source: String,
}

/// The example service: registers `com.example.add`, `com.example.greet` and
/// `com.example.divide` on `session`, and returns the registrations (dropping them
/// unregisters).
pub async fn register_example_service(
    session: &Session,
) -> Result<Vec<wamp_runtime::Registration>, wamp_runtime::Error> {
    use wamp_runtime::WampError;
    let add = session
        .register("com.example.add", |(a, b): (i64, i64)| async move {
            a.checked_add(b).ok_or_else(|| {
                WampError::with_message("com.example.overflow", "the sum does not fit in an i64")
            })
        })
        .await?;
    let greet = session
        .register("com.example.greet", |g: Greeting| async move {
            let bangs = "!".repeat(usize::from(g.excitement.min(10)));
            Ok::<_, WampError>(format!("Hello, {}{bangs}", g.name))
        })
        .await?;
    let divide = session
        .register("com.example.divide", |(a, b): (f64, f64)| async move {
            if b == 0.0 {
                return Err(WampError::with_message(
                    "com.example.division_by_zero",
                    "cannot divide by zero",
                )
                .kwarg("dividend", a));
            }
            Ok(a / b)
        })
        .await?;
    Ok(vec![add, greet, divide])
}

/// The calculator contract: both the callee and the caller programs depend on it. From it,
/// `#[service]` generates `Calculator::register_on` and `CalculatorClient`.
pub mod calculator {
    use wamp_runtime::{service, CallContext, Stream};

    /// What can go wrong in the calculator; each case travels as its own WAMP error URI.
    #[derive(Debug, Clone, PartialEq, wamp_runtime::WampError)]
    pub enum CalcError {
        /// `b` was zero.
        #[wamp(uri = "com.example.calc.division_by_zero")]
        DivisionByZero,
        /// The result does not fit.
        #[wamp(uri = "com.example.calc.overflow")]
        Overflow {
            /// The largest value there is.
            limit: i64,
        },
    }

    /// A calculator service.
    #[service(prefix = "com.example.calc")]
    pub trait Calculator {
        /// Adds two integers (`com.example.calc.add`).
        async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError>;
        /// Divides `a` by `b` (`com.example.calc.divide`).
        async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError>;
        /// Sums a list (`com.example.calc.sum`).
        async fn sum(&self, values: Vec<i64>) -> i64;
        /// Says who is calling (`com.example.calc.whoami`).
        #[wamp(disclose_caller)]
        async fn whoami(&self, ctx: CallContext) -> String;
        /// Counts from 1 to `n` in progressive results (`com.example.calc.count_to`); at
        /// most 1000.
        #[wamp(progressive)]
        fn count_to(&self, n: u32) -> impl Stream<Item = Result<u32, CalcError>> + Send;
    }

    /// The calculator, implemented.
    pub struct Calc;

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

        fn count_to(&self, n: u32) -> impl Stream<Item = Result<u32, CalcError>> + Send {
            let counted: Vec<Result<u32, CalcError>> = if n > 1000 {
                vec![Err(CalcError::Overflow { limit: 1000 })]
            } else {
                (1..=n).map(Ok).collect()
            };
            futures_util::stream::iter(counted)
        }
    }
}

/// The sensors contract: one topic per room, the room a typed placeholder.
pub mod sensors {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// A temperature reading, published to `com.example.sensor.{room}.temperature`.
    #[wamp_runtime::topic("com.example.sensor.{room}.temperature")]
    #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
    pub struct Temperature {
        /// The room: one URI component of the topic.
        pub room: String,
        /// Degrees Celsius.
        pub celsius: f64,
    }
}
