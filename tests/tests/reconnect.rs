//! Automatic reconnection: the router is stopped and started again on the same port (or
//! the network between a client and the router breaks), and sessions with a reconnect
//! policy come back by themselves with their registrations and subscriptions, typed
//! services and topics included; what was in flight fails, what is made while
//! disconnected waits or fails as chosen, and a give-up is reported.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use wamp_router::{Router, RouterHandle};
use wamp_runtime::{
    service, topic, Error, Lifecycle, ReconnectPolicy, Session, SessionEvent, Subscription,
    WampError,
};

const WAIT: Duration = Duration::from_secs(10);

/// A router on `addr` (port 0 for a free one) with realm `realm1`.
async fn router_on(addr: SocketAddr) -> RouterHandle {
    tests::init_logs();
    Router::builder()
        .listen(addr)
        .realm("realm1")
        .start()
        .await
        .expect("router starts")
}

/// Reconnects quickly, for tests.
fn fast() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(200))
}

async fn join(url: &str, policy: Option<ReconnectPolicy>) -> Session {
    let mut b = Session::builder(url, "realm1").request_timeout(WAIT);
    if let Some(p) = policy {
        b = b.reconnect(p);
    }
    b.connect().await.expect("joins")
}

/// The next lifecycle event that `pick` accepts, skipping the others.
async fn wait_for<T>(
    lifecycle: &mut Lifecycle,
    mut pick: impl FnMut(SessionEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = lifecycle.next().await.expect("the lifecycle goes on");
            if let Some(t) = pick(event) {
                return t;
            }
        }
    })
    .await
    .expect("the lifecycle event in time")
}

async fn reconnected(lifecycle: &mut Lifecycle) -> (u64, Vec<(String, String)>) {
    wait_for(lifecycle, |e| match e {
        SessionEvent::Reconnected {
            session, failed, ..
        } => Some((session, failed)),
        _ => None,
    })
    .await
}

async fn disconnected(lifecycle: &mut Lifecycle) -> String {
    wait_for(lifecycle, |e| match e {
        SessionEvent::Disconnected { reason, .. } => Some(reason),
        _ => None,
    })
    .await
}

async fn next_event(sub: &mut Subscription<(String,)>) -> String {
    let event = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("an event");
    event.data.0
}

/// The registrations and subscriptions the router holds, as (exact, prefix, wildcard)
/// ID lists.
async fn held(s: &Session, what: &str) -> usize {
    let lists: serde_json::Value = s
        .call(format!("wamp.{what}.list"), ())
        .await
        .expect("meta list");
    ["exact", "prefix", "wildcard"]
        .iter()
        .map(|k| lists[k].as_array().map_or(0, Vec::len))
        .sum()
}

/// A greeter, registered through the typed layer.
#[service(prefix = "com.example.greeter")]
trait Greeter {
    async fn greet(&self, name: String) -> String;
}

struct Polite;

impl Greeter for Polite {
    async fn greet(&self, name: String) -> String {
        format!("hello, {name}")
    }
}

#[topic("com.example.door.{room}")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Door {
    room: String,
    open: bool,
}

#[tokio::test]
async fn a_callee_and_a_subscriber_come_back_after_the_router_restarts() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let addr = router.local_addr();
    let url = router.url();

    let callee = join(&url, Some(fast())).await;
    let first_id = callee.id();
    let _add = callee
        .register("com.example.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .unwrap();
    let _greeter = Polite.register_on(&callee).await.unwrap();
    let mut lifecycle = callee.lifecycle();
    assert_eq!(
        lifecycle.next().await,
        Some(SessionEvent::Connected { session: first_id })
    );

    let subscriber = join(&url, Some(fast())).await;
    let mut plain = subscriber
        .subscribe::<(String,)>("com.example.news")
        .await
        .unwrap();
    // Two local subscriptions to one topic share the router's subscription.
    let mut twin = subscriber
        .subscribe::<(String,)>("com.example.news")
        .await
        .unwrap();
    let mut doors = Door::subscribe(&subscriber, DoorKey::any()).await.unwrap();
    let mut sub_lifecycle = subscriber.lifecycle();

    // Stop the router: both sessions notice and keep trying.
    router.shutdown().await;
    let reason = disconnected(&mut lifecycle).await;
    assert!(!reason.is_empty());
    disconnected(&mut sub_lifecycle).await;
    assert!(!callee.is_connected() && !callee.is_closed());

    // Start it again on the same port: they come back by themselves.
    let router = router_on(addr).await;
    let (new_id, failed) = reconnected(&mut lifecycle).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_ne!(new_id, first_id);
    assert_eq!(callee.id(), new_id);
    assert!(callee.is_connected());
    let (_, failed) = reconnected(&mut sub_lifecycle).await;
    assert!(failed.is_empty(), "{failed:?}");

    // Calls and events resume, through plain and typed handles alike.
    let caller = join(&url, None).await;
    let sum: i64 = caller.call("com.example.add", (2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    let greeting = GreeterClient::new(caller.clone())
        .greet("again".into())
        .await
        .unwrap();
    assert_eq!(greeting, "hello, again");
    caller
        .publish("com.example.news", ("back",))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next_event(&mut plain).await, "back");
    assert_eq!(next_event(&mut twin).await, "back");
    let door = Door {
        room: "hall".into(),
        open: true,
    };
    door.publish(&caller).await.unwrap();
    let got = tokio::time::timeout(WAIT, doors.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.data, door);

    // Nothing is registered or subscribed twice: add + greet; news + doors.
    assert_eq!(held(&caller, "registration").await, 2);
    assert_eq!(held(&caller, "subscription").await, 2);
    let callees: u64 = caller
        .call("wamp.registration.count_callees", (_add.id(),))
        .await
        .unwrap();
    assert_eq!(callees, 1);

    // The handles follow the new IDs, and releasing them works on the new connection.
    plain.unsubscribe().await.unwrap();
    assert_eq!(held(&caller, "subscription").await, 2);
    twin.unsubscribe().await.unwrap();
    assert_eq!(held(&caller, "subscription").await, 1);
    _add.unregister().await.unwrap();
    assert_eq!(held(&caller, "registration").await, 1);
    router.shutdown().await;
}

#[tokio::test]
async fn the_session_gives_up_after_its_attempt_limit() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let s = join(&router.url(), Some(fast().max_attempts(3))).await;
    let mut lifecycle = s.lifecycle();
    router.shutdown().await;

    let mut attempts = Vec::new();
    let gave_up = wait_for(&mut lifecycle, |e| match e {
        SessionEvent::Reconnecting { attempt, .. } => {
            attempts.push(attempt);
            None
        }
        SessionEvent::GaveUp { attempts, error } => Some((attempts, error)),
        _ => None,
    })
    .await;
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(gave_up.0, 3);
    assert!(!gave_up.1.is_empty());
    let closed = wait_for(&mut lifecycle, |e| match e {
        SessionEvent::Closed { reason } => Some(reason),
        _ => None,
    })
    .await;
    assert!(closed.contains("gave up"), "{closed}");
    assert!(tokio::time::timeout(WAIT, lifecycle.next())
        .await
        .unwrap()
        .is_none());
    assert!(s.is_closed());
    let err = s.call::<()>("com.example.any", ()).await.unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err:?}");
}

#[tokio::test]
async fn requests_made_while_disconnected_wait_or_fail_as_chosen() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let addr = router.local_addr();
    let url = router.url();
    // The session that waits is its own callee: once it is back, so is its procedure.
    let waiting = join(&url, Some(fast())).await;
    let _reg = waiting
        .register("com.example.echo", |(s,): (String,)| async move {
            Ok::<_, WampError>(s)
        })
        .await
        .unwrap();
    let failing = join(&url, Some(fast().wait_while_disconnected(false))).await;
    let mut waiting_life = waiting.lifecycle();
    let mut failing_life = failing.lifecycle();
    router.shutdown().await;
    disconnected(&mut waiting_life).await;
    disconnected(&mut failing_life).await;

    // Failing at once.
    let err = failing
        .call::<String>("com.example.echo", ("x",))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Disconnected(_)), "{err:?}");
    let err = failing.subscribe::<()>("com.example.t").await.unwrap_err();
    assert!(matches!(err, Error::Disconnected(_)), "{err:?}");
    // Waiting, bounded by the call's timeout.
    let err = waiting
        .call::<String>("com.example.echo", ("x",))
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Timeout(Duration::from_millis(100)));
    // Waiting, until the router is back.
    let call = tokio::spawn({
        let waiting = waiting.clone();
        async move {
            waiting
                .call::<String>("com.example.echo", ("late",))
                .timeout(WAIT)
                .await
        }
    });
    let subscribing = tokio::spawn({
        let waiting = waiting.clone();
        async move { waiting.subscribe::<(String,)>("com.example.t").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!call.is_finished());
    let router = router_on(addr).await;
    assert_eq!(call.await.unwrap().unwrap(), "late");
    let mut sub = subscribing.await.unwrap().unwrap();
    reconnected(&mut failing_life).await;
    failing.publish("com.example.t", ("hi",)).await.unwrap();
    assert_eq!(next_event(&mut sub).await, "hi");
    router.shutdown().await;
}

#[tokio::test]
async fn calls_in_flight_fail_when_the_connection_drops() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let url = router.url();
    let callee = join(&url, None).await;
    let _reg = callee
        .register("com.example.slow", |(): ()| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let caller = join(&url, Some(fast())).await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<()>("com.example.slow", ()).await }
    });
    tests::until("the call at the callee", || {
        router.calls_in_flight("realm1") == 1
    })
    .await;
    router.shutdown().await;
    let err = tokio::time::timeout(WAIT, call)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    // The router's shutdown or the loss of the connection, whichever came first.
    assert!(
        matches!(err, Error::Disconnected(_) | Error::Application(_)),
        "{err:?}"
    );
    assert!(!caller.is_closed());
}

/// A TCP relay between clients and the router that can break its connections the way
/// networks do: cut (the client side closes, the router side stays open, so the router
/// still holds the lost session) or freeze (both sides stay open and nothing passes, so
/// only a keepalive notices).
struct Relay {
    url: String,
    breaks: watch::Sender<Break>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Break {
    None,
    Cut,
    Freeze,
}

impl Relay {
    /// A relay to `router`, its URL with `scheme` (`ws` or `tcp`).
    async fn start(router: SocketAddr, scheme: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = match scheme {
            "ws" => format!("ws://{addr}/ws"),
            _ => format!("{scheme}://{addr}"),
        };
        let (breaks, _) = watch::channel(Break::None);
        let watcher = breaks.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(router).await else {
                    continue;
                };
                let mut broken = watcher.subscribe();
                broken.mark_unchanged();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut ur, mut uw) = upstream.into_split();
                    let pipe = async {
                        tokio::select! {
                            _ = tokio::io::copy(&mut cr, &mut uw) => {}
                            _ = tokio::io::copy(&mut ur, &mut cw) => {}
                        }
                    };
                    let how = tokio::select! {
                        _ = pipe => return,
                        _ = broken.changed() => *broken.borrow(),
                    };
                    if how == Break::Cut {
                        drop((cr, cw));
                    }
                    // Keep what is left open, passing nothing, for longer than any test.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop((ur, uw));
                });
            }
        });
        Relay { url, breaks }
    }

    /// Breaks every connection made so far (later ones pass).
    fn sever(&self, how: Break) {
        self.breaks.send_replace(how);
    }
}

#[tokio::test]
async fn a_procedure_the_router_still_holds_is_taken_over_on_reconnecting() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let relay = Relay::start(router.local_addr(), "ws").await;
    let callee = join(&relay.url, Some(fast())).await;
    let reg = callee
        .register("com.example.ping", |(): ()| async move {
            Ok::<_, WampError>("pong")
        })
        .await
        .unwrap();
    let mut lifecycle = callee.lifecycle();
    assert_eq!(router.session_count("realm1"), 1);

    relay.sever(Break::Cut);
    disconnected(&mut lifecycle).await;
    let (_, failed) = reconnected(&mut lifecycle).await;
    assert!(failed.is_empty(), "{failed:?}");
    // The old session is still there (its connection never closed), but the procedure
    // is the new session's.
    assert_eq!(router.session_count("realm1"), 2);
    let caller = join(&router.url(), None).await;
    let pong: String = caller.call("com.example.ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    let callees: Vec<u64> = caller
        .call("wamp.registration.list_callees", (reg.id(),))
        .await
        .unwrap();
    assert_eq!(callees, [callee.id()]);
    router.shutdown().await;
}

#[tokio::test]
async fn force_reregister_takes_a_procedure_over() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let url = router.url();
    let old = join(&url, None).await;
    let old_reg = old
        .register("com.example.who", |(): ()| async move {
            Ok::<_, WampError>("old")
        })
        .await
        .unwrap();
    let new = join(&url, None).await;
    let err = new
        .register("com.example.who", |(): ()| async move {
            Ok::<_, WampError>("new")
        })
        .await
        .unwrap_err();
    assert_eq!(err.uri(), Some("wamp.error.procedure_already_exists"));
    let new_reg = new
        .register("com.example.who", |(): ()| async move {
            Ok::<_, WampError>("new")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    assert_ne!(new_reg.id(), old_reg.id());
    let caller = join(&url, None).await;
    let who: String = caller.call("com.example.who", ()).await.unwrap();
    assert_eq!(who, "new");
    // The old callee was told: unregistering it now is a no-op, not an error.
    let reason = tokio::time::timeout(WAIT, old_reg.revocation())
        .await
        .unwrap();
    assert_eq!(reason, "wamp.error.unregistered");
    old_reg.unregister().await.unwrap();
    let who: String = caller.call("com.example.who", ()).await.unwrap();
    assert_eq!(who, "new");
    router.shutdown().await;
}

/// A connection that goes silent without closing is found by the keepalive, over
/// WebSocket and RawSocket, and the session comes back on a new one.
#[tokio::test]
async fn a_silent_connection_is_found_by_the_keepalive_and_replaced() {
    tests::init_logs();
    let router = Router::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .rawsocket("127.0.0.1:0".parse().unwrap())
        .realm("realm1")
        .start()
        .await
        .unwrap();
    let rawsocket = router.rawsocket_addr().unwrap();
    for (scheme, target) in [("ws", router.local_addr()), ("tcp", rawsocket)] {
        let relay = Relay::start(target, scheme).await;
        let callee = Session::builder(relay.url.as_str(), "realm1")
            .keepalive(Duration::from_millis(100))
            .reconnect(fast())
            .connect()
            .await
            .unwrap();
        let procedure = format!("com.example.alive.{scheme}");
        let _reg = callee
            .register(procedure.as_str(), |(): ()| async move {
                Ok::<_, WampError>(true)
            })
            .await
            .unwrap();
        let mut lifecycle = callee.lifecycle();
        // Quiet but healthy: pings keep it up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(callee.is_connected(), "{scheme}");

        relay.sever(Break::Freeze);
        let reason = disconnected(&mut lifecycle).await;
        assert!(reason.contains("keepalive"), "{scheme}: {reason}");
        let (_, failed) = reconnected(&mut lifecycle).await;
        assert!(failed.is_empty(), "{scheme}: {failed:?}");
        let caller = join(&router.url(), None).await;
        let alive: bool = caller.call(procedure.as_str(), ()).await.unwrap();
        assert!(alive, "{scheme}");
    }
    router.shutdown().await;
}

#[tokio::test]
async fn without_a_policy_a_lost_connection_closes_the_session() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let s = join(&router.url(), None).await;
    let mut lifecycle = s.lifecycle();
    assert!(matches!(
        lifecycle.next().await,
        Some(SessionEvent::Connected { .. })
    ));
    router.shutdown().await;
    let next = tokio::time::timeout(WAIT, lifecycle.next()).await.unwrap();
    assert!(
        matches!(
            next,
            Some(SessionEvent::Disconnected {
                reconnecting: false,
                ..
            })
        ),
        "{next:?}"
    );
    let next = tokio::time::timeout(WAIT, lifecycle.next()).await.unwrap();
    assert!(
        matches!(next, Some(SessionEvent::Closed { .. })),
        "{next:?}"
    );
    assert!(s.is_closed());
    let err = s.call::<()>("com.example.any", ()).await.unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err:?}");
}

#[tokio::test]
async fn a_procedure_revoked_while_connected_is_not_taken_back_on_reconnection() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let addr = router.local_addr();
    let url = router.url();
    let first = join(&url, Some(fast())).await;
    let mut lifecycle = first.lifecycle();
    let reg = first
        .register("com.example.owned", |()| async {
            Ok::<_, WampError>("first")
        })
        .await
        .unwrap();
    let second = join(&url, None).await;
    let _taken = second
        .register("com.example.owned", |()| async {
            Ok::<_, WampError>("second")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    let reason = tokio::time::timeout(WAIT, reg.revocation()).await.unwrap();
    assert_eq!(reason, "wamp.error.unregistered");
    let revoked = wait_for(&mut lifecycle, |e| match e {
        SessionEvent::RegistrationRevoked { procedure, reason } => Some((procedure, reason)),
        _ => None,
    })
    .await;
    assert_eq!(revoked.0, "com.example.owned");

    router.shutdown().await;
    let router = router_on(addr).await;
    let (_, failed) = reconnected(&mut lifecycle).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        held(&first, "registration").await,
        0,
        "nothing registered again"
    );
    let err = first
        .call::<String>("com.example.owned", ())
        .await
        .unwrap_err();
    assert_eq!(
        err.uri(),
        Some(wamp_runtime::proto::error::NO_SUCH_PROCEDURE)
    );
    router.shutdown().await;
}

#[tokio::test]
async fn a_procedure_another_session_took_meanwhile_is_not_taken_back() {
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let relay = Relay::start(router.local_addr(), "ws").await;
    // Slow to come back, so that another instance takes the procedure first.
    let slow = fast().initial_delay(Duration::from_secs(1));
    let first = join(&relay.url, Some(slow)).await;
    let _reg = first
        .register("com.example.job", |()| async {
            Ok::<_, WampError>("first")
        })
        .await
        .unwrap();
    let mut lifecycle = first.lifecycle();
    relay.sever(Break::Cut);
    disconnected(&mut lifecycle).await;
    // The router still holds the first one's lost session; another instance takes over.
    let second = join(&router.url(), None).await;
    let _taken = second
        .register("com.example.job", |()| async {
            Ok::<_, WampError>("second")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    let (_, failed) = reconnected(&mut lifecycle).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "com.example.job");
    assert!(failed[0].1.contains("another session"), "{failed:?}");
    let answer: String = first.call("com.example.job", ()).await.unwrap();
    assert_eq!(
        answer, "second",
        "the procedure stays with the instance that took it"
    );
    router.shutdown().await;
}

/// A listener on `addr` that takes connections and drops them at once: a router that
/// cannot be reached. It stops once `n` were taken, and says how many it took.
async fn refuse(listener: TcpListener, n: usize) -> usize {
    let mut taken = 0;
    while taken < n {
        if let Ok((stream, _)) = listener.accept().await {
            drop(stream);
            taken += 1;
        }
    }
    taken
}

#[tokio::test]
async fn connecting_retries_a_router_that_cannot_be_reached_yet() {
    // A router that drops every connection, within the attempt limit: the last error.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dropping = tokio::spawn(refuse(listener, 3));
    let url = format!("ws://{addr}/ws");
    let e = Session::builder(&url, "realm1")
        .reconnect(fast().max_attempts(3))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_eq!(dropping.await.unwrap(), 3, "three attempts, no more");

    // It drops the first two; then the router is there and the third attempt joins.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("ws://{addr}/ws");
    let connecting = tokio::spawn(async move {
        Session::builder(&url, "realm1")
            .reconnect(fast())
            .connect()
            .await
    });
    assert_eq!(refuse(listener, 2).await, 2);
    let router = router_on(addr).await;
    let s = tokio::time::timeout(WAIT, connecting)
        .await
        .expect("joins in time")
        .unwrap()
        .expect("joins");
    assert!(s.is_connected());
    s.leave().await.unwrap();
    router.shutdown().await;

    // A refusal is final: an ABORT is not retried.
    let router = router_on("127.0.0.1:0".parse().unwrap()).await;
    let e = Session::builder(router.url(), "no.such.realm")
        .reconnect(fast())
        .connect()
        .await
        .unwrap_err();
    assert!(!matches!(e, Error::Transport(_)), "{e:?}");
}
