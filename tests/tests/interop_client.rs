//! Our client with a real third-party peer: Autobahn for Python calls our callee and
//! serves our caller, and events flow both ways, with each serializer (see
//! `tests/python/autobahn_peer.py` for the Python side's checks).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tests::{spawn_python, start_router, WAIT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use wamp_runtime::{Args, Serializer, Session, Value, WampError};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    times: u32,
}

async fn with_autobahn(serializer: Serializer, name: &str) {
    let r = start_router().await;
    let rust = Session::builder(r.url(), "realm1")
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
    let mut py_news = rust
        .subscribe::<(String, i64)>("com.py.news")
        .await
        .unwrap();

    let mut child = spawn_python("autobahn_peer.py", &[&r.url(), "realm1", name]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_json() {
    with_autobahn(Serializer::Json, "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_msgpack() {
    with_autobahn(Serializer::MsgPack, "msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_cbor() {
    with_autobahn(Serializer::Cbor, "cbor").await;
}
