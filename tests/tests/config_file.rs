//! The documented configuration file, `examples/router.toml`, as a user would start from
//! it: Autobahn for Python and our client authenticate by ticket, salted WAMP-CRA and
//! cryptosign (and fail with wrong secrets), and a restricted role is refused what it may
//! not do.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{init_logs, run_python, workspace};
use wamp_router::{Router, RouterHandle};
use wamp_runtime::proto::error;
use wamp_runtime::{CryptosignKey, Error, Registration, Serializer, Session, WampError};

/// The private key whose public key `examples/router.toml` gives principal `device-1`.
const DEVICE_SEED: &str = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510";

/// The example file, on free ports.
async fn example_router() -> RouterHandle {
    let text = std::fs::read_to_string(workspace().join("examples/router.toml")).unwrap();
    let text = text
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("127.0.0.1:8081", "127.0.0.1:0");
    router_from(&text).await
}

/// A router started from a configuration file with `text`.
async fn router_from(text: &str) -> RouterHandle {
    init_logs();
    let unique = format!(
        "wamp-config-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("router.toml");
    std::fs::write(&path, text).unwrap();
    let builder = Router::from_config_file(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    builder.start().await.unwrap()
}

/// The backend (`service`, salted WAMP-CRA), serving `com.example.echo` for the frontends.
async fn backend(r: &RouterHandle) -> (Session, Registration) {
    let s = Session::builder(r.url(), "realm1")
        .wampcra("service", "backend-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(s.authrole().as_deref(), Some("backend"));
    let echo = s
        .register("com.example.echo", |x: (String,)| async move {
            Ok::<_, WampError>(x.0)
        })
        .await
        .unwrap();
    (s, echo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_against_the_example_configuration() {
    let r = example_router().await;
    let (service, _echo) = backend(&r).await;
    let _reset = service
        .register("com.example.admin.reset", |_: ()| async {
            Ok::<_, WampError>("reset")
        })
        .await
        .unwrap();
    for ser in ["json", "msgpack", "cbor"] {
        let out = run_python("autobahn_config.py", &[&r.url(), ser, DEVICE_SEED]).await;
        assert!(out.contains(&format!("ALL OK {ser}")), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_the_example_configuration() {
    let r = example_router().await;
    let _backend = backend(&r).await;
    let device = CryptosignKey::from_hex(DEVICE_SEED).unwrap();
    let raw = r.rawsocket_url().unwrap();
    // The RawSocket listener: MessagePack and CBOR only, no anonymous sessions.
    let s = Session::builder(raw.as_str(), "realm1")
        .serializer(Serializer::MsgPack)
        .cryptosign(device.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authrole().as_deref()),
        (Some("device-1"), Some("frontend"))
    );
    let back: String = s.call("com.example.echo", ("hello",)).await.unwrap();
    assert_eq!(back, "hello");
    match s.publish("com.example.news", ("no",)).acknowledge().await {
        Err(Error::Application(w)) => assert_eq!(w.uri, error::NOT_AUTHORIZED),
        other => panic!("{other:?}"),
    }
    assert!(Session::builder(raw.as_str(), "realm1")
        .serializer(Serializer::Json)
        .cryptosign(device)
        .connect()
        .await
        .is_err());
    match Session::builder(raw.as_str(), "realm1")
        .serializer(Serializer::Cbor)
        .connect()
        .await
    {
        Err(Error::Aborted(w)) => assert_eq!(w.uri, error::NO_AUTH_METHOD),
        other => panic!("{other:?}"),
    }
    // The WebSocket listener lets anonymous sessions in as guests, who may only subscribe
    // to com.example.public.
    let guest = Session::builder(r.url(), "realm1").connect().await.unwrap();
    assert_eq!(guest.authrole().as_deref(), Some("guest"));
    guest
        .subscribe::<()>("com.example.public.news")
        .await
        .unwrap();
    match guest.call::<String>("com.example.echo", ("x",)).await {
        Err(Error::Application(w)) => assert_eq!(w.uri, error::NOT_AUTHORIZED),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn crossbar_style_permissions_mean_what_they_mean_there() {
    let r = router_from(
        r#"
[[listener]]
type = "websocket"
address = "127.0.0.1:0"

[[realm]]
name = "realm1"
anonymous = "everything"

[[realm.role]]
name = "everything"
permissions = [
  { uri = "", match = "prefix", allow = ["call", "register", "publish", "subscribe"] },
  { uri = "com.locked.*", allow = ["subscribe"] },
]
"#,
    )
    .await;
    let s = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let reg = s
        .register("any.uri.at.all", |()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    assert_eq!(s.call::<i64>("any.uri.at.all", ()).await.unwrap(), 1);
    let denied = |e: Error| assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED), "{e}");
    denied(
        s.register("com.locked.door", |()| async { Ok::<_, WampError>(1) })
            .await
            .unwrap_err(),
    );
    let _sub = s.subscribe::<()>("com.locked.door").await.unwrap();
    reg.unregister().await.unwrap();
    r.shutdown().await;
}
