//! `#[service]` and `#[derive(WampError)]` against the bundled router: registration of
//! every procedure, the typed stub, errors in both directions, kwargs by name, the call
//! context, pattern procedures, composition, and per-procedure options.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tests::{join, start_router};
use wamp_runtime::{
    service, Args, CallContext, Endpoint, Error, Serializer, ServiceError, WampError,
};

#[derive(Debug, Clone, PartialEq, WampError)]
enum CalcError {
    #[wamp(uri = "com.example.calc.division_by_zero")]
    DivisionByZero,
    #[wamp(uri = "com.example.calc.overflow")]
    Overflow { limit: i64 },
    #[wamp(uri = "com.example.calc.invalid")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stats {
    mean: f64,
    count: usize,
}

/// A calculator.
#[service(prefix = "com.example.calc")]
trait Calculator {
    /// Adds two integers.
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError>;
    /// Divides.
    async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError>;
    /// Never fails.
    async fn stats(&self, values: Vec<f64>) -> Stats;
    /// Takes nothing, returns nothing.
    async fn reset(&self);
    /// Knows who calls.
    #[wamp(uri = "com.example.whoami", disclose_caller)]
    async fn whoami(&self, ctx: CallContext, greeting: String) -> (String, Option<u64>);
    /// Optional arguments may be left out.
    async fn scale(&self, value: f64, factor: Option<f64>) -> f64;
    #[wamp(timeout_ms = 100)]
    async fn slow(&self, ms: u64) -> u64;
}

#[derive(Default)]
struct Calc {
    resets: AtomicU64,
}

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError> {
        a.checked_add(b)
            .ok_or(CalcError::Overflow { limit: i64::MAX })
    }
    async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError> {
        if b == 0.0 {
            return Err(CalcError::DivisionByZero);
        }
        if a < 0.0 && b < 0.0 {
            return Err(CalcError::Invalid("both negative".into()));
        }
        Ok(a / b)
    }
    async fn stats(&self, values: Vec<f64>) -> Stats {
        let count = values.len();
        let mean = values.iter().sum::<f64>() / count.max(1) as f64;
        Stats { mean, count }
    }
    async fn reset(&self) {
        self.resets.fetch_add(1, Ordering::Relaxed);
    }
    async fn whoami(&self, ctx: CallContext, greeting: String) -> (String, Option<u64>) {
        (format!("{greeting} from {}", ctx.procedure), ctx.caller)
    }
    async fn scale(&self, value: f64, factor: Option<f64>) -> f64 {
        value * factor.unwrap_or(1.0)
    }
    async fn slow(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }
}

#[tokio::test]
async fn the_stub_calls_the_implementation_with_its_types() {
    let r = start_router().await;
    for ser in Serializer::ALL {
        let callee = join(r.endpoint(), ser).await;
        let caller = join(Endpoint::from(r.url()), ser).await;
        let registered = Calc::default().register_on(&callee).await.unwrap();
        assert_eq!(registered.registrations().len(), 7);
        let calc = CalculatorClient::new(caller.clone());

        assert_eq!(calc.add(2, 3).await.unwrap(), 5);
        assert_eq!(calc.divide(1.0, 4.0).await.unwrap(), 0.25);
        assert_eq!(
            calc.stats(vec![1.0, 2.0, 3.0]).await.unwrap(),
            Stats {
                mean: 2.0,
                count: 3
            }
        );
        calc.reset().await.unwrap();
        let (text, who) = calc.whoami("hi".into()).await.unwrap();
        assert_eq!(text, "hi from com.example.whoami");
        assert_eq!(who, Some(caller.id()));
        assert_eq!(calc.scale(2.0, Some(3.0)).await.unwrap(), 6.0);
        assert_eq!(calc.scale(2.0, None).await.unwrap(), 2.0);

        // Application errors come back as the same variant.
        assert_eq!(
            calc.divide(1.0, 0.0).await.unwrap_err(),
            ServiceError::App(CalcError::DivisionByZero)
        );
        assert_eq!(
            calc.add(i64::MAX, 1).await.unwrap_err(),
            ServiceError::App(CalcError::Overflow { limit: i64::MAX })
        );
        assert_eq!(
            calc.divide(-1.0, -1.0).await.unwrap_err().app(),
            Some(&CalcError::Invalid("both negative".into()))
        );
        // The per-procedure timeout.
        match calc.slow(2_000).await {
            Err(Error::Timeout(d)) => assert_eq!(d, Duration::from_millis(100)),
            other => panic!("{other:?}"),
        }
        // Unregistering the service removes every procedure.
        registered.unregister().await.unwrap();
        match calc.add(1, 1).await {
            Err(ServiceError::Wamp(e)) => {
                assert_eq!(e.uri(), Some("wamp.error.no_such_procedure"))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn untyped_callers_may_pass_arguments_by_position_or_by_name() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let _reg = Calc::default().register_on(&callee).await.unwrap();

    let n: i64 = caller.call("com.example.calc.add", (2, 3)).await.unwrap();
    assert_eq!(n, 5);
    let by_name = Args::new().kwarg("a", 4).unwrap().kwarg("b", 5).unwrap();
    let n: i64 = caller.call("com.example.calc.add", by_name).await.unwrap();
    assert_eq!(n, 9);
    let mixed = Args::new().arg(1).unwrap().kwarg("b", 10).unwrap();
    let n: i64 = caller.call("com.example.calc.add", mixed).await.unwrap();
    assert_eq!(n, 11);
    // A typed error reaches an untyped caller as its URI and fields.
    let e = caller
        .call::<i64>("com.example.calc.add", (i64::MAX, 1))
        .await
        .unwrap_err();
    match e {
        Error::Application(w) => {
            assert_eq!(w.uri, "com.example.calc.overflow");
            assert_eq!(
                w.kwargs.get("limit"),
                Some(&wamp_runtime::Value::Int(i64::MAX))
            );
        }
        other => panic!("{other:?}"),
    }
    let e = caller
        .call::<i64>("com.example.calc.add", ("two", 3))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some("wamp.error.invalid_argument"));
    assert!(e.to_string().contains("\"a\""), "{e}");
    let e = caller
        .call::<i64>("com.example.calc.add", (1,))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some("wamp.error.invalid_argument"), "b is missing");
}

/// A second service on the same session.
#[service(prefix = "com.example.echo")]
trait Echo {
    async fn echo(&self, text: String) -> String;
}

struct Echoer(&'static str);

impl Echo for Echoer {
    async fn echo(&self, text: String) -> String {
        format!("{}: {text}", self.0)
    }
}

#[tokio::test]
async fn services_compose_on_one_session() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Cbor).await;
    let _calc = Calc::default().register_on(&callee).await.unwrap();
    let _echo = Echoer("one").register_on(&callee).await.unwrap();
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let e = EchoClient::new(caller.clone());
    assert_eq!(e.echo("hi".into()).await.unwrap(), "one: hi");
    assert_eq!(CalculatorClient::new(caller).add(1, 2).await.unwrap(), 3);
    // A second implementation of a service on another session is refused by a router
    // without shared registrations (single is the default invocation policy).
    let other = join(r.endpoint(), Serializer::Json).await;
    let e = Echoer("two").register_on(&other).await.unwrap_err();
    assert_eq!(e.uri(), Some("wamp.error.procedure_already_exists"));
}

/// A procedure registered with a prefix pattern.
#[service(prefix = "com.example.files")]
trait Files {
    #[wamp(uri = "com.example.files.read.", match = "prefix")]
    async fn read(&self, ctx: CallContext) -> String;
}

struct Reader;

impl Files for Reader {
    async fn read(&self, ctx: CallContext) -> String {
        ctx.procedure
    }
}

#[tokio::test]
async fn pattern_procedures_receive_the_uri_called() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let _files = Reader.register_on(&callee).await.unwrap();
    let files = FilesClient::new(caller.clone());
    assert_eq!(
        files.read("com.example.files.read.a.txt").await.unwrap(),
        "com.example.files.read.a.txt"
    );
    assert_eq!(
        files.read("com.example.files.read.dir.b").await.unwrap(),
        "com.example.files.read.dir.b"
    );
}

/// A service several callees implement: calls take turns.
#[service(prefix = "com.example.worker")]
trait Worker {
    #[wamp(invoke = "roundrobin")]
    async fn name(&self) -> String;
}

struct Named(&'static str);

impl Worker for Named {
    async fn name(&self) -> String {
        self.0.to_owned()
    }
}

#[tokio::test]
async fn one_service_implemented_by_several_callees() {
    let r = start_router().await;
    let one = join(r.endpoint(), Serializer::Json).await;
    let two = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let reg_one = Named("one").register_on(&one).await.unwrap();
    let _reg_two = Named("two").register_on(&two).await.unwrap();
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let worker = WorkerClient::new(caller);
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(worker.name().await.unwrap());
    }
    assert_eq!(names, ["one", "two", "one", "two"]);
    // One callee leaving leaves the other serving.
    reg_one.unregister().await.unwrap();
    assert_eq!(worker.name().await.unwrap(), "two");
    assert_eq!(worker.name().await.unwrap(), "two");
}

#[derive(Debug, Clone, PartialEq, wamp_runtime::WampError)]
enum CountError {
    #[wamp(uri = "com.example.count.too_far")]
    TooFar { max: u32 },
}

/// Progressive results: a method returning a stream.
#[service(prefix = "com.example.count")]
trait Counting {
    /// Counts from 1 to n, one partial result each.
    fn up_to(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, CountError>> + Send;
}

struct Counter {
    max: u32,
}

impl Counting for Counter {
    fn up_to(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, CountError>> + Send {
        let max = self.max;
        use futures_util::StreamExt;
        futures_util::stream::iter(1..=n).then(move |i| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if i > max {
                Err(CountError::TooFar { max })
            } else {
                Ok(i)
            }
        })
    }
}

#[tokio::test]
async fn progressive_procedures_stream_their_results() {
    use futures_util::StreamExt;
    let r = start_router().await;
    assert!(join(r.endpoint(), Serializer::Json)
        .await
        .router_supports("dealer", "progressive_call_results"));
    for ser in Serializer::ALL {
        let callee = join(Endpoint::from(r.url()), ser).await;
        let caller = join(r.endpoint(), ser).await;
        let _reg = Counter { max: 5 }.register_on(&callee).await.unwrap();
        let counting = CountingClient::new(caller.clone());

        let got: Vec<u32> = counting.up_to(4).map(|r| r.unwrap()).collect().await;
        assert_eq!(got, vec![1, 2, 3, 4], "{ser}");

        // An error ends the stream after the results before it.
        let items: Vec<_> = counting.up_to(7).collect().await;
        assert_eq!(items.len(), 6);
        assert_eq!(
            items[5],
            Err(ServiceError::App(CountError::TooFar { max: 5 }))
        );

        // A caller that does not ask for progress gets every result as one list.
        let all: Vec<u32> = caller.call("com.example.count.up_to", (3,)).await.unwrap();
        assert_eq!(all, vec![1, 2, 3]);
    }
}

#[tokio::test]
async fn closures_send_progress_and_callers_receive_it() {
    use futures_util::StreamExt;
    use wamp_runtime::{CallDetails, Progress};
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::MsgPack).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let _reg = callee
        .register(
            "com.example.download",
            |(chunks,): (u32,), _: CallDetails, progress: Progress| async move {
                for i in 0..chunks {
                    progress.send(format!("chunk {i}")).await?;
                }
                Ok::<_, WampError>(format!("{chunks} chunks"))
            },
        )
        .await
        .unwrap();
    let items: Vec<String> = caller
        .call::<String>("com.example.download", (3,))
        .progressive()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(items, ["chunk 0", "chunk 1", "chunk 2", "3 chunks"]);
    // Without asking, only the final result arrives.
    let last: String = caller.call("com.example.download", (3,)).await.unwrap();
    assert_eq!(last, "3 chunks");
    // Dropping the stream early forgets the call; the session goes on.
    let mut s = caller
        .call::<String>("com.example.download", (100,))
        .progressive();
    assert_eq!(s.next().await.unwrap().unwrap(), "chunk 0");
    drop(s);
    let last: String = caller.call("com.example.download", (1,)).await.unwrap();
    assert_eq!(last, "1 chunks");
}

#[tokio::test]
async fn a_typed_service_learns_that_a_procedure_was_taken_from_it() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let echo = Echoer("one").register_on(&callee).await.unwrap();
    assert!(echo.revoked().is_empty());
    let other = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let _taken = other
        .register("com.example.echo.echo", |(t,): (String,)| async move {
            Ok::<_, wamp_runtime::WampError>(format!("other: {t}"))
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    let (procedure, reason) = tokio::time::timeout(tests::WAIT, echo.revocation())
        .await
        .unwrap();
    assert_eq!(
        (procedure.as_str(), reason.as_str()),
        ("com.example.echo.echo", "wamp.error.unregistered")
    );
    assert_eq!(echo.revoked().len(), 1);
    let e = EchoClient::new(callee.clone());
    assert_eq!(e.echo("hi".into()).await.unwrap(), "other: hi");
}
