//! Scenarios run against more than one router (ours and Crossbar.io).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use wamp_runtime::{service, Args, Serializer, Session, Value, WampError};

use crate::{spawn_python, WAIT};

/// The name Autobahn's scripts use for a serializer.
pub fn serializer_name(s: Serializer) -> &'static str {
    match s {
        Serializer::Json => "json",
        Serializer::MsgPack => "msgpack",
        Serializer::Cbor => "cbor",
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    times: u32,
}

/// The typed service Autobahn calls (`com.rust.calc.*`).
#[derive(Debug, Clone, PartialEq, wamp_runtime::WampError)]
enum CalcError {
    #[wamp(uri = "com.rust.calc.division_by_zero")]
    DivisionByZero,
    #[wamp(uri = "com.rust.calc.overflow")]
    Overflow { limit: i64 },
}

#[service(prefix = "com.rust.calc")]
trait Calculator {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError>;
    async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError>;
}

struct Calc;

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError> {
        a.checked_add(b)
            .ok_or(CalcError::Overflow { limit: i64::MAX })
    }
    async fn divide(&self, a: f64, b: f64) -> Result<f64, CalcError> {
        if b == 0.0 {
            Err(CalcError::DivisionByZero)
        } else {
            Ok(a / b)
        }
    }
}

/// A progressive procedure Autobahn calls with `on_progress`.
#[service(prefix = "com.rust.count")]
trait Counting {
    fn up_to(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, CalcError>> + Send;
}

impl Counting for Calc {
    fn up_to(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, CalcError>> + Send {
        futures_util::stream::iter((1..=n).map(Ok))
    }
}

/// A typed topic our side publishes and Autobahn subscribes to.
#[wamp_runtime::topic("com.rust.sensor.{room}.temperature")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RustTemperature {
    room: String,
    celsius: f64,
}

/// A typed topic Autobahn publishes to and our side subscribes to.
#[wamp_runtime::topic("com.py.sensor.{room}.temperature")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PyTemperature {
    room: String,
    celsius: f64,
}

/// Our session and an Autobahn session (`tests/python/autobahn_peer.py`) on the router at
/// `url`: each calls the other's procedures and receives the other's events.
pub async fn rust_and_autobahn(url: &str, serializer: Serializer) {
    let name = serializer_name(serializer);
    let rust = Session::builder(url, "realm1")
        .serializer(serializer)
        .connect()
        .await
        .expect("joins");

    let _mul = rust
        .register("com.rust.mul", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a * b)
        })
        .await
        .unwrap();
    let _greet = rust
        .register("com.rust.greet", |g: Greeting| async move {
            Ok::<_, WampError>(Greeting {
                name: format!("hello {}", g.name),
                times: g.times + 1,
            })
        })
        .await
        .unwrap();
    let _nothing = rust
        .register("com.rust.nothing", |(): ()| async {
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let _fail = rust
        .register("com.rust.fail", |(n,): (i64,)| async move {
            Err::<(), _>(
                WampError::with_message("com.rust.error.refused", format!("refused: {n}"))
                    .kwarg("value", n),
            )
        })
        .await
        .unwrap();
    let _calc = Calculator::register_on(Calc, &rust).await.unwrap();
    let _count = Counting::register_on(Calc, &rust).await.unwrap();
    let mut py_temperatures = PyTemperature::subscribe(&rust, PyTemperatureKey::any())
        .await
        .unwrap();
    let mut py_news = rust
        .subscribe::<(String, i64)>("com.py.news")
        .await
        .unwrap();

    let mut child = spawn_python("autobahn_peer.py", &[url, "realm1", name]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
            .await
            .expect("python says READY in time")
            .unwrap();
        let Some(line) = line else {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err).await;
            panic!("python ended before READY:\n{}\n{err}", seen.join("\n"));
        };
        let ready = line.starts_with("READY");
        seen.push(line);
        if ready {
            break;
        }
    }

    // Our caller, Autobahn's callee.
    let sum: i64 = rust.call("com.py.add", (2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    let blob = Value::Bytes((0..=255).collect());
    let sent = Args::new()
        .arg("héllo")
        .unwrap()
        .arg(blob.clone())
        .unwrap()
        .kwarg("n", -7)
        .unwrap();
    let echoed: Args = rust.call("com.py.echo", sent.clone()).await.unwrap();
    assert_eq!(
        echoed, sent,
        "args, binary and kwargs round-trip through Autobahn"
    );
    let e = rust.call::<()>("com.py.fail", ("nope",)).await.unwrap_err();
    match e {
        wamp_runtime::Error::Application(w) => {
            assert_eq!(w.uri, "com.py.error.refused");
            assert_eq!(w.args, vec![Value::from("nope")]);
            assert_eq!(w.kwargs.get("code"), Some(&Value::Int(7)));
        }
        other => panic!("{other:?}"),
    }

    // Progressive results from an Autobahn callee.
    let parts: Vec<String> = rust
        .call::<String>("com.py.progress", (3,))
        .progressive()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(parts, ["part 0", "part 1", "part 2", "done"]);

    // Events both ways.
    for publication in [
        rust.publish("com.rust.news", ("one",)),
        rust.publish(
            "com.rust.news",
            Greeting {
                name: "kw".into(),
                times: 9,
            },
        ),
        rust.publish("com.rust.news", (blob,))
            .option("disclose_me", true),
    ] {
        publication.acknowledge().await.unwrap();
    }
    RustTemperature {
        room: "kitchen".into(),
        celsius: 21.5,
    }
    .publish(&rust)
    .acknowledge()
    .await
    .unwrap();
    let t = tokio::time::timeout(WAIT, py_temperatures.next())
        .await
        .expect("the Python temperature in time")
        .unwrap()
        .unwrap();
    assert_eq!(t.data.celsius, 30.5);
    assert_eq!(t.key.room.as_deref(), Some("attic"));

    let event = tokio::time::timeout(WAIT, py_news.next())
        .await
        .expect("the Python event in time")
        .unwrap()
        .unwrap();
    assert_eq!(event.data, ("from python".to_string(), 1));

    let status = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = stdout.next_line().await {
            seen.push(line);
        }
        child.wait().await
    })
    .await
    .expect("python finishes in time")
    .unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err).await;
    let out = seen.join("\n");
    assert!(status.success(), "python failed:\n{out}\n{err}");
    assert!(out.contains(&format!("ALL OK {name}")), "{out}\n{err}");
}

/// Our client on its own against the router at `url`: a callee, a caller, a publisher and
/// a subscriber, with typed arguments, errors, many calls in flight, a call timeout, and
/// leaving.
pub async fn rust_client_roles(url: &str, serializer: Serializer) {
    let join = || async {
        Session::builder(url, "realm1")
            .serializer(serializer)
            .connect()
            .await
            .expect("joins")
    };
    let callee = join().await;
    let caller = join().await;
    assert!(callee.id() > 0 && callee.id() != caller.id());

    let _add = callee
        .register("com.scenario.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .unwrap();
    let _greet = callee
        .register("com.scenario.greet", |g: Greeting| async move {
            Ok::<_, WampError>(format!("hello {} x{}", g.name, g.times))
        })
        .await
        .unwrap();
    let _fail = callee
        .register("com.scenario.fail", |(): ()| async {
            Err::<(), _>(WampError::with_message("com.scenario.refused", "no").kwarg("code", 7))
        })
        .await
        .unwrap();
    let _slow = callee
        .register("com.scenario.slow", |(ms,): (u64,)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, WampError>(ms)
        })
        .await
        .unwrap();

    let sum: i64 = caller.call("com.scenario.add", (2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    let g: String = caller
        .call(
            "com.scenario.greet",
            Greeting {
                name: "ada".into(),
                times: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(g, "hello ada x2");
    let e = caller
        .call::<()>("com.scenario.fail", ())
        .await
        .unwrap_err();
    match e {
        wamp_runtime::Error::Application(w) => {
            assert_eq!(w.uri, "com.scenario.refused");
            assert_eq!(w.message(), Some("no"));
            assert_eq!(w.kwargs.get("code"), Some(&Value::Int(7)));
        }
        other => panic!("{other:?}"),
    }
    let e = caller
        .call::<()>("com.scenario.missing", ())
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some("wamp.error.no_such_procedure"));
    let e = caller
        .call::<u64>("com.scenario.slow", (5_000,))
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, wamp_runtime::Error::Timeout(_)), "{e:?}");

    let calls = (0..200u64).map(|n| {
        let caller = caller.clone();
        async move {
            let ms: u64 = caller.call("com.scenario.slow", (n % 20,)).await.unwrap();
            assert_eq!(ms, n % 20);
        }
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(calls),
    )
    .await
    .expect("every call answered");

    let mut ticks = callee
        .subscribe::<(u32, String)>("com.scenario.tick")
        .await
        .unwrap();
    let mut greetings = callee
        .subscribe::<Greeting>("com.scenario.greeting")
        .await
        .unwrap();
    for n in 0..3u32 {
        caller
            .publish("com.scenario.tick", (n, "tick"))
            .acknowledge()
            .await
            .unwrap();
    }
    caller
        .publish(
            "com.scenario.greeting",
            Greeting {
                name: "kw".into(),
                times: 1,
            },
        )
        .await
        .unwrap();
    for n in 0..3u32 {
        let e = tokio::time::timeout(WAIT, ticks.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        assert_eq!(e.data, (n, "tick".to_string()), "in publish order");
    }
    let e = tokio::time::timeout(WAIT, greetings.next())
        .await
        .expect("event in time")
        .unwrap()
        .unwrap();
    assert_eq!(e.data.name, "kw");

    drop(ticks);
    drop(greetings);
    caller.leave().await.unwrap();
    callee.leave().await.unwrap();
}

/// Our client's Advanced Profile features against the router at `url`: progressive
/// results, pattern and shared registrations, pattern subscriptions, retention, canceling
/// and the meta API.
pub async fn rust_client_advanced(url: &str, serializer: Serializer) {
    use wamp_runtime::client::meta::Meta;
    use wamp_runtime::{CallDetails, MatchPolicy, Progress};
    let join = || async {
        Session::builder(url, "realm1")
            .serializer(serializer)
            .connect()
            .await
            .expect("joins")
    };
    let one = join().await;
    let two = join().await;
    let caller = join().await;

    // Progressive results.
    let _count = one
        .register(
            "com.adv.count",
            |(n,): (u32,), _: CallDetails, progress: Progress| async move {
                for i in 1..=n {
                    progress.send(i).await?;
                }
                Ok::<_, WampError>(())
            },
        )
        .await
        .unwrap();
    let got: Vec<u32> = caller
        .call::<u32>("com.adv.count", (3,))
        .progressive()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(got, [1, 2, 3]);

    // Pattern registration: the callee learns the URI called.
    let _files = one
        .register("com.adv.files.", |(): (), d: CallDetails| async move {
            Ok::<_, WampError>(d.procedure)
        })
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    let p: String = caller.call("com.adv.files.readme", ()).await.unwrap();
    assert_eq!(p, "com.adv.files.readme");

    // Shared registration, round robin.
    let _w1 = one
        .register("com.adv.worker", |(): ()| async { Ok::<_, WampError>(1) })
        .invoke("roundrobin")
        .await
        .unwrap();
    let _w2 = two
        .register("com.adv.worker", |(): ()| async { Ok::<_, WampError>(2) })
        .invoke("roundrobin")
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(caller.call::<u32>("com.adv.worker", ()).await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, [1, 1, 2, 2]);

    // Canceling: a dropped call stops the callee's handler.
    let (stopped_tx, mut stopped_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let _slow = two
        .register("com.adv.slow", move |(): ()| {
            let stopped = stopped_tx.clone();
            async move {
                struct OnDrop(tokio::sync::mpsc::UnboundedSender<()>);
                impl Drop for OnDrop {
                    fn drop(&mut self) {
                        let _ = self.0.send(());
                    }
                }
                let _guard = OnDrop(stopped);
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<_, WampError>(())
            }
        })
        .await
        .unwrap();
    let e = caller
        .call::<()>("com.adv.slow", ())
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, wamp_runtime::Error::Timeout(_)), "{e:?}");
    tokio::time::timeout(WAIT, stopped_rx.recv())
        .await
        .expect("the callee's handler is stopped");

    // Pattern subscription and retention.
    caller
        .publish("com.adv.state.kitchen", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    // (Crossbar.io keeps retained events for exact subscriptions only.)
    let mut kitchen = two
        .subscribe::<(String,)>("com.adv.state.kitchen")
        .get_retained()
        .await
        .unwrap();
    let e = tokio::time::timeout(WAIT, kitchen.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.data.0, "on");
    let mut states = two
        .subscribe::<(String,)>("com.adv.state")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    caller
        .publish("com.adv.state.hall", ("off",))
        .acknowledge()
        .await
        .unwrap();
    let e = tokio::time::timeout(WAIT, states.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.data.0, "off");
    assert_eq!(e.details.topic.as_deref(), Some("com.adv.state.hall"));

    // The meta API.
    let meta = Meta::new(caller.clone());
    assert!(meta.session_count(None).await.unwrap() >= 3);
    assert!(meta.session_list(None).await.unwrap().contains(&one.id()));
    let reg = meta
        .registration_lookup("com.adv.worker", MatchPolicy::Exact)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(meta.registration_callee_count(reg).await.unwrap(), 2);
    let sub = meta
        .subscription_lookup("com.adv.state", MatchPolicy::Prefix)
        .await
        .unwrap()
        .expect("subscribed");
    assert_eq!(
        meta.subscription_subscribers(sub).await.unwrap(),
        [two.id()]
    );

    drop(states);
    drop(kitchen);
    for s in [one, two, caller] {
        s.leave().await.unwrap();
    }
}
