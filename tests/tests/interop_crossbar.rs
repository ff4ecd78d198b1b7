//! Our client against a router we did not write: Crossbar.io, the reference WAMP router
//! (installed from PyPI into `.venv-crossbar`), with each serializer, over WebSocket (alone
//! and with an Autobahn for Python peer) and over RawSocket, and restarted under our
//! reconnecting client.

use tests::scenarios::{rust_and_autobahn, rust_client_advanced, rust_client_roles};
use tests::Crossbar;
use wamp_runtime::Serializer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_crossbar() {
    let node = Crossbar::start().await;
    for serializer in Serializer::ALL {
        rust_client_roles(&node.url(), serializer).await;
        rust_and_autobahn(&node.url(), serializer).await;
        rust_client_roles(&node.rawsocket_url(), serializer).await;
    }
    rust_client_advanced(&node.url(), Serializer::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_our_router_the_same_way() {
    let r = tests::start_router().await;
    for serializer in Serializer::ALL {
        rust_client_roles(&r.url(), serializer).await;
        rust_client_advanced(&r.url(), serializer).await;
    }
}

/// Our client's authentication methods against Crossbar.io's static principals (for the
/// salted WAMP-CRA principal, Crossbar derives the key with PBKDF2 as the client must).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_authenticates_to_crossbar() {
    use wamp_runtime::{Error, Session};
    let node = Crossbar::start().await;
    let url = node.url();
    let ticket = Session::builder(&url, "realm1")
        .ticket("alice", "alice's ticket")
        .connect()
        .await
        .expect("ticket");
    assert_eq!(ticket.authid().as_deref(), Some("alice"));
    assert_eq!(ticket.authrole().as_deref(), Some("user"));
    assert_eq!(ticket.authmethod().as_deref(), Some("ticket"));
    let cra = Session::builder(&url, "realm1")
        .serializer(Serializer::Cbor)
        .wampcra("joe", "secret1")
        .connect()
        .await
        .expect("wampcra");
    assert_eq!(
        (cra.authid().as_deref(), cra.authmethod().as_deref()),
        (Some("joe"), Some("wampcra"))
    );
    let salted = Session::builder(&url, "realm1")
        .serializer(Serializer::MsgPack)
        .wampcra("peter", "secret2")
        .connect()
        .await
        .expect("salted wampcra");
    assert_eq!(salted.authid().as_deref(), Some("peter"));
    // Cryptosign: the key of the spec's first test vector, whose public key the node's
    // principal "device" lists.
    let key = wamp_runtime::CryptosignKey::from_hex(
        "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
    )
    .unwrap();
    let signed = Session::builder(&url, "realm1")
        .serializer(Serializer::MsgPack)
        .cryptosign(key)
        .authid("device")
        .connect()
        .await
        .expect("cryptosign");
    assert_eq!(
        (signed.authid().as_deref(), signed.authmethod().as_deref()),
        (Some("device"), Some("cryptosign"))
    );
    // WAMP-SCRAM: Crossbar.io speaks `scram` (Autobahn's dialect) and its principal is
    // what Autobahn's `derive_scram_credential("sam", "sam-password")` makes; the client
    // checks the server signature in WELCOME.
    let scram = Session::builder(&url, "realm1")
        .serializer(Serializer::Cbor)
        .scram("sam", "sam-password")
        .connect()
        .await
        .expect("scram");
    assert_eq!(
        (scram.authid().as_deref(), scram.authmethod().as_deref()),
        (Some("sam"), Some("scram"))
    );
    // Wrong secrets are refused with the router's ABORT.
    for wrong in [
        Session::builder(&url, "realm1").scram("sam", "nope"),
        Session::builder(&url, "realm1").ticket("alice", "nope"),
        Session::builder(&url, "realm1").wampcra("joe", "nope"),
        Session::builder(&url, "realm1")
            .cryptosign(wamp_runtime::CryptosignKey::generate())
            .authid("device"),
    ] {
        match wrong.connect().await {
            Err(Error::Aborted(e)) => assert!(e.uri.starts_with("wamp.error."), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

/// Our reconnecting client with Crossbar.io restarted under it: it authenticates again
/// with its ticket, and its procedure and subscription come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_reconnecting_client_comes_back_after_crossbar_restarts() {
    use futures_util::StreamExt;
    use std::time::Duration;
    use wamp_runtime::{ReconnectPolicy, Session, SessionEvent, WampError};
    let node = Crossbar::start().await;
    let url = node.url();
    let policy = ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(200))
        .max_delay(Duration::from_secs(1));
    let service = Session::builder(&url, "realm1")
        .serializer(Serializer::MsgPack)
        .ticket("alice", "alice's ticket")
        .reconnect(policy)
        .connect()
        .await
        .expect("joins");
    let _add = service
        .register("com.example.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .expect("registers");
    let mut news = service
        .subscribe::<(String,)>("com.example.news")
        .await
        .expect("subscribes");
    let mut lifecycle = service.lifecycle();

    let node = node.restart().await;
    let back = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(event) = lifecycle.next().await {
            if let SessionEvent::Reconnected { failed, .. } = event {
                return failed;
            }
        }
        panic!("the lifecycle ended");
    })
    .await
    .unwrap_or_else(|_| panic!("not back in time:\n{}", node.log()));
    assert!(back.is_empty(), "{back:?}");
    assert_eq!(service.authid().as_deref(), Some("alice"));

    let caller = Session::builder(&url, "realm1")
        .connect()
        .await
        .expect("joins");
    let sum: i64 = caller.call("com.example.add", (2, 3)).await.expect("call");
    assert_eq!(sum, 5);
    caller
        .publish("com.example.news", ("back",))
        .acknowledge()
        .await
        .expect("publish");
    let event = tokio::time::timeout(Duration::from_secs(10), news.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("an event");
    assert_eq!(event.data.0, "back");
}

/// The typed meta wrappers against Crossbar.io, whose `kill_by_authid` and
/// `kill_by_authrole` answer the list of sessions ended (ours follow the spec: a list for
/// `kill_by_authid`, a count for `kill_by_authrole`): both read as `Killed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_kill_wrappers_against_crossbar() {
    use wamp_runtime::client::meta::Meta;
    use wamp_runtime::Session;
    let node = Crossbar::start().await;
    let url = node.url();
    let admin = Session::builder(&url, "realm1")
        .ticket("alice", "alice's ticket")
        .connect()
        .await
        .expect("admin joins");
    let meta = Meta::new(admin.clone());
    let mut joes = Vec::new();
    for _ in 0..2 {
        let s = Session::builder(&url, "realm1")
            .wampcra("joe", "secret1")
            .connect()
            .await
            .expect("joe joins");
        joes.push(s);
    }
    let mut ids: Vec<u64> = joes.iter().map(Session::id).collect();
    ids.sort_unstable();
    let killed = meta
        .session_kill_by_authid("joe", None, None)
        .await
        .unwrap();
    let mut got = killed.sessions().expect("Crossbar names them").to_vec();
    got.sort_unstable();
    assert_eq!(got, ids);
    let guest = Session::builder(&url, "realm1").connect().await.unwrap();
    let killed = meta
        .session_kill_by_authrole("anonymous", None, None)
        .await
        .unwrap();
    assert_eq!(killed.count(), 1);
    assert_eq!(killed.sessions(), Some(&[guest.id()][..]));
    let victim = Session::builder(&url, "realm1").connect().await.unwrap();
    meta.session_kill(victim.id(), None, None).await.unwrap();
    assert!(!admin.is_closed());
}

/// Crossbar.io has no reflection API: a service serves its own description under its
/// prefix instead (`{prefix}._description`), so tools still find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_serves_its_own_description_on_crossbar() {
    use examples::calculator::{Calc, Calculator, CalculatorClient};
    use wamp_runtime::interface::Interface;
    use wamp_runtime::Session;
    let node = Crossbar::start().await;
    let services = Session::builder(node.url(), "realm1")
        .connect()
        .await
        .unwrap();
    assert!(!services.router_supports("dealer", "reflection"));
    let calc = Calc.register_on(&services).await.unwrap();
    let caller = Session::builder(node.url(), "realm1")
        .serializer(Serializer::Cbor)
        .connect()
        .await
        .unwrap();
    let served: Interface = caller
        .call("com.example.calc._description", ())
        .await
        .unwrap();
    assert_eq!(served, CalculatorClient::interface());
    assert_eq!(
        CalculatorClient::new(caller.clone())
            .add(2, 3)
            .await
            .unwrap(),
        5
    );
    calc.unregister().await.unwrap();
    let gone = caller
        .call::<Interface>("com.example.calc._description", ())
        .await
        .unwrap_err();
    assert_eq!(gone.uri(), Some("wamp.error.no_such_procedure"));
}
