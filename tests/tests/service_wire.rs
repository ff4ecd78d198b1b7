//! The wire shape of typed procedures, against the bundled router and Autobahn|Python:
//! parameters that travel as `kwargs` (one, or all of a method's), wire names other than
//! the Rust ones (`rename`, raw identifiers), results as `kwargs` or as several `args`,
//! and what a call with extra, unknown or missing arguments gets. Autobahn calls our
//! callee with keyword arguments, and our stub calls an Autobahn callee that takes them
//! (`tests/python/autobahn_wire.py`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde::{Deserialize, Serialize};
use tests::{join, start_router, PythonPeer};
use wamp_runtime::proto::error;
use wamp_runtime::{service, Args, Endpoint, Serializer, ServiceError, Session, WampError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    room: String,
    celsius: f64,
    unit: String,
}

#[derive(Debug, Clone, PartialEq, WampError)]
enum WireError {
    #[wamp(uri = "wamp.error.not_authorized")]
    NotAuthorized(String),
}

#[service(prefix = "com.rust.wire")]
trait Wire {
    /// `type` is a keyword in Rust, not on the wire.
    async fn kind(&self, r#type: String) -> String;
    /// A positional argument, and one that only travels by its wire name.
    async fn tag(&self, value: u32, #[wamp(kwarg, rename = "label")] name: String) -> String;
    /// Every parameter by name, the result as keyword arguments.
    #[wamp(kwargs, result = "kwargs")]
    async fn read(&self, room: String, unit: Option<String>) -> Reading;
    /// The result as several positional arguments.
    #[wamp(result = "args")]
    async fn split(&self, text: String) -> (String, usize);
    /// Refuses with the spec's error.
    async fn vault(&self) -> Result<(), WireError>;
}

struct Impl;

impl Wire for Impl {
    async fn kind(&self, r#type: String) -> String {
        format!("kind {type}", type = r#type)
    }
    async fn tag(&self, value: u32, name: String) -> String {
        format!("{name}={value}")
    }
    async fn read(&self, room: String, unit: Option<String>) -> Reading {
        Reading {
            room,
            celsius: 21.5,
            unit: unit.unwrap_or_else(|| "C".into()),
        }
    }
    async fn split(&self, text: String) -> (String, usize) {
        let n = text.len();
        (text.to_uppercase(), n)
    }
    async fn vault(&self) -> Result<(), WireError> {
        Err(WireError::NotAuthorized("admins only".into()))
    }
}

/// The Autobahn callee's procedures, as a Rust contract: `lookup(name, *, unit=None)`
/// returns a dict (CallResult(**kwargs)), `pair()` two positional results.
#[service(prefix = "com.py.wire")]
#[allow(dead_code)] // only its stub is used
trait PyWire {
    #[wamp(result = "kwargs")]
    async fn lookup(&self, name: String, #[wamp(kwarg)] unit: Option<String>) -> Reading;
    #[wamp(result = "args")]
    async fn pair(&self) -> (String, i64);
}

/// A raw call's arguments, as they came.
async fn raw(s: &Session, procedure: &str, args: Args) -> Result<Args, wamp_runtime::Error> {
    s.call::<Args>(procedure, args).raw().await
}

fn positional(values: impl IntoIterator<Item = wamp_runtime::Value>) -> Args {
    Args {
        args: values.into_iter().collect(),
        ..Default::default()
    }
}

fn named(pairs: &[(&str, wamp_runtime::Value)]) -> Args {
    let mut a = Args::default();
    for (k, v) in pairs {
        a.kwargs.insert((*k).into(), v.clone());
    }
    a
}

/// Every serializer a callee and a caller may speak: MessagePack and CBOR sessions write
/// their arguments straight into their frames' bytes (and a MessagePack callee reads its
/// parameters straight from them), a JSON one goes through values.
const SPOKEN: [Serializer; 3] = [Serializer::Json, Serializer::MsgPack, Serializer::Cbor];

#[tokio::test]
async fn parameters_and_results_travel_as_declared() {
    for callee in SPOKEN {
        for caller in SPOKEN {
            travel_as_declared(callee, caller).await;
        }
    }
}

async fn travel_as_declared(callee: Serializer, caller: Serializer) {
    let r = start_router().await;
    // A JSON callee joins in-process (no serializer at all), the others over WebSocket.
    let at = match callee {
        Serializer::Json => r.endpoint(),
        _ => Endpoint::from(r.url()),
    };
    let callee = join(at, callee).await;
    let caller = join(Endpoint::from(r.url()), caller).await;
    Impl.register_on(&callee).await.unwrap().detach();
    let wire = WireClient::new(caller.clone());
    use wamp_runtime::Value as V;

    // Through the stub, every shape round-trips.
    assert_eq!(wire.kind("gauge".into()).await.unwrap(), "kind gauge");
    assert_eq!(wire.tag(7, "size".into()).await.unwrap(), "size=7");
    let reading = wire.read("hall".into(), None).await.unwrap();
    assert_eq!(
        (reading.room.as_str(), reading.unit.as_str()),
        ("hall", "C")
    );
    assert_eq!(wire.split("ab".into()).await.unwrap(), ("AB".into(), 2));
    assert!(matches!(
        wire.vault().await,
        Err(ServiceError::App(WireError::NotAuthorized(_)))
    ));

    // On the wire: the raw identifier's name is `type`, positionally or by name.
    let by_name = raw(
        &caller,
        "com.rust.wire.kind",
        named(&[("type", V::from("x"))]),
    )
    .await;
    assert_eq!(by_name.unwrap().args, [V::from("kind x")]);
    // `label` travels by name only.
    let mut a = positional([V::from(3u64)]);
    a.kwargs.insert("label".into(), V::from("n"));
    assert_eq!(
        raw(&caller, "com.rust.wire.tag", a).await.unwrap().args,
        [V::from("n=3")]
    );
    // A kwargs result has no positional arguments; several args are several.
    let read = raw(
        &caller,
        "com.rust.wire.read",
        named(&[("room", V::from("attic"))]),
    )
    .await
    .unwrap();
    assert!(read.args.is_empty());
    assert_eq!(read.kwargs.get("room"), Some(&V::from("attic")));
    assert_eq!(read.kwargs.get("unit"), Some(&V::from("C")));
    let split = raw(&caller, "com.rust.wire.split", positional([V::from("abc")]))
        .await
        .unwrap();
    assert_eq!(split.args, [V::from("ABC"), V::from(3u64)]);
}

#[tokio::test]
async fn extra_unknown_and_missing_arguments_are_refused() {
    for callee in SPOKEN {
        refused_by(callee).await;
    }
}

async fn refused_by(callee: Serializer) {
    let r = start_router().await;
    // A JSON callee joins in-process (no serializer at all), the others over WebSocket.
    let at = match callee {
        Serializer::Json => r.endpoint(),
        _ => Endpoint::from(r.url()),
    };
    let callee = join(at, callee).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    Impl.register_on(&callee).await.unwrap().detach();
    use wamp_runtime::Value as V;
    let refused = |r: Result<Args, wamp_runtime::Error>| match r {
        Err(e) if e.uri() == Some(error::INVALID_ARGUMENT) => e.to_string(),
        other => panic!("not refused: {other:?}"),
    };
    // More positional arguments than parameters.
    let text = refused(
        raw(
            &caller,
            "com.rust.wire.kind",
            positional([V::from("a"), V::from("b")]),
        )
        .await,
    );
    assert!(text.contains("2 positional arguments"), "{text}");
    // A keyword argument that names no parameter (the Rust name of a renamed one too).
    let mut a = positional([V::from(1u64)]);
    a.kwargs.insert("name".into(), V::from("n"));
    let text = refused(raw(&caller, "com.rust.wire.tag", a).await);
    assert!(text.contains("unknown keyword argument \"name\""), "{text}");
    // A kwargs-only parameter given positionally is an extra positional argument.
    let text = refused(raw(&caller, "com.rust.wire.read", positional([V::from("hall")])).await);
    assert!(text.contains("positional"), "{text}");
    // A missing argument that is not an Option.
    let text = refused(raw(&caller, "com.rust.wire.kind", Args::default()).await);
    assert!(text.contains("\"type\""), "{text}");
    // A missing Option is None.
    let read = raw(
        &caller,
        "com.rust.wire.read",
        named(&[("room", V::from("den"))]),
    )
    .await;
    assert_eq!(read.unwrap().kwargs.get("unit"), Some(&V::from("C")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_calls_our_kwargs_and_we_call_its() {
    autobahn_wire(Serializer::Json, "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_calls_our_kwargs_and_we_call_its_msgpack() {
    autobahn_wire(Serializer::MsgPack, "msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_calls_our_kwargs_and_we_call_its_cbor() {
    autobahn_wire(Serializer::Cbor, "cbor").await;
}

async fn autobahn_wire(serializer: Serializer, name: &str) {
    let r = start_router().await;
    let session = join(Endpoint::from(r.url()), serializer).await;
    Impl.register_on(&session).await.unwrap().detach();
    let mut py = PythonPeer::start("autobahn_wire.py", &[&r.url(), "realm1", name]);
    py.line_starting("READY").await;
    // Autobahn's callee, through our stub: a keyword argument in, a dict out; two
    // results.
    let stub = PyWireClient::new(session.clone());
    let got = stub.lookup("hall".into(), Some("F".into())).await.unwrap();
    assert_eq!(
        got,
        Reading {
            room: "hall".into(),
            celsius: 70.7,
            unit: "F".into()
        }
    );
    assert_eq!(stub.lookup("den".into(), None).await.unwrap().unit, "C");
    assert_eq!(stub.pair().await.unwrap(), ("left".into(), 2));
    // Autobahn's checks of our callee.
    py.line_starting("ALL OK").await;
    py.kill().await;
    let _ = WampError::new("com.rust.unused");
}
