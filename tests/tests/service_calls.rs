//! Per-call options on generated stubs, against the bundled router: a call's own timeout,
//! `disclose_me` and CALL options, an explicit cancel in each mode through a handle, the
//! defaults a stub gives all its calls, and the same for a progressive procedure; and a
//! procedure's `concurrency`, kept by the router.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::future::IntoFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tests::{join, start_router, until, WAIT};
use wamp_runtime::proto::error;
use wamp_runtime::{
    service, CallContext, CancelMode, Endpoint, Error, Serializer, ServiceError, StreamExt,
    WampError,
};

#[derive(Debug, Clone, PartialEq, WampError)]
enum JobError {
    #[wamp(uri = "com.example.jobs.refused")]
    Refused,
}

#[service(prefix = "com.example.jobs")]
trait Jobs {
    /// Works for `ms` milliseconds; says who called, if the router said.
    async fn run(&self, ctx: CallContext, ms: u64) -> Result<Option<u64>, JobError>;
    /// Counts up to `n`, then works forever.
    fn count(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, JobError>> + Send;
}

/// Counts the handlers that started and those that ended (finished or interrupted).
#[derive(Clone, Default)]
struct Worker {
    started: Arc<AtomicU64>,
    ended: Arc<AtomicU64>,
}

struct Ends(Arc<AtomicU64>);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Jobs for Worker {
    async fn run(&self, ctx: CallContext, ms: u64) -> Result<Option<u64>, JobError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let _ends = Ends(self.ended.clone());
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(ctx.caller)
    }
    fn count(&self, n: u32) -> impl wamp_runtime::Stream<Item = Result<u32, JobError>> + Send {
        let ends = Ends(self.ended.clone());
        let forever = futures_util::stream::once(async move {
            let _ends = ends;
            std::future::pending::<Result<u32, JobError>>().await
        });
        futures_util::stream::iter((0..n).map(Ok)).chain(forever)
    }
}

impl Worker {
    fn started(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }
    fn ended(&self) -> u64 {
        self.ended.load(Ordering::SeqCst)
    }
}

/// A router, a worker registered on a callee session, and a caller session.
async fn setup() -> (
    wamp_router::RouterHandle,
    Worker,
    wamp_runtime::Session,
    wamp_runtime::Session,
) {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let worker = Worker::default();
    worker.clone().register_on(&callee).await.unwrap().detach();
    (r, worker, callee, caller)
}

#[tokio::test]
async fn a_stub_call_takes_its_own_timeout_and_disclosure() {
    let (r, worker, _callee, caller) = setup().await;
    let jobs = JobsClient::new(caller.clone());
    // Awaited as it is.
    assert_eq!(jobs.run(0).await.unwrap(), None, "not disclosed unasked");
    // A timeout of its own: the caller gives up, the router interrupts the callee.
    let e = jobs
        .run(60_000)
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ServiceError::Wamp(Error::Timeout(Duration::from_millis(100)))
    );
    until("the timed-out handler ends", || worker.ended() == 2).await;
    until("no call in flight", || r.calls_in_flight("realm1") == 0).await;
    // Disclosure, asked for by the call, as a flag or as an option.
    assert_eq!(jobs.run(0).disclose_me().await.unwrap(), Some(caller.id()));
    let asked = jobs.run(0).option("disclose_me", true).await.unwrap();
    assert_eq!(asked, Some(caller.id()));
}

#[tokio::test]
async fn a_cancel_handle_cancels_in_the_mode_it_is_given() {
    let (r, worker, _callee, caller) = setup().await;
    let jobs = JobsClient::new(caller.clone());
    let canceled = |e: ServiceError<JobError>| match e {
        ServiceError::Wamp(e) => e.uri() == Some(error::CANCELED),
        ServiceError::App(_) => false,
    };
    for (n, mode) in [CancelMode::Kill, CancelMode::KillNoWait, CancelMode::Skip]
        .into_iter()
        .enumerate()
    {
        let n = n as u64;
        let call = jobs.run(60_000);
        let handle = call.cancel_handle();
        let running = tokio::spawn(call.into_future());
        until("the handler runs", || worker.started() == n + 1).await;
        handle.cancel(mode).unwrap();
        let e = tokio::time::timeout(WAIT, running)
            .await
            .expect("the call ends in time")
            .unwrap()
            .unwrap_err();
        assert!(canceled(e.clone()), "{mode:?}: {e:?}");
        if mode == CancelMode::Skip {
            // The callee is left alone: its handler is still at work.
            assert_eq!(worker.ended(), n, "skip interrupts nobody");
        } else {
            until("the interrupted handler ends", || worker.ended() == n + 1).await;
        }
    }
    // A cancel asked before the call went out goes out with it.
    let call = jobs.run(60_000);
    call.cancel_handle().cancel(CancelMode::KillNoWait).unwrap();
    let e = call.await.unwrap_err();
    assert!(canceled(e.clone()), "{e:?}");
    // Canceling a call that ended does nothing.
    let call = jobs.run(0);
    let handle = call.cancel_handle();
    assert_eq!(call.await.unwrap(), None);
    handle.cancel(CancelMode::Kill).unwrap();
    // The router forgot every call, the skipped one too (its callee's answer will be
    // dropped).
    until("no call in flight", || r.calls_in_flight("realm1") == 0).await;
}

#[tokio::test]
async fn a_stub_gives_its_defaults_to_every_call() {
    let (_r, worker, _callee, caller) = setup().await;
    let jobs = JobsClient::new(caller.clone())
        .timeout(Duration::from_millis(100))
        .disclose_me();
    let e = jobs.run(60_000).await.unwrap_err();
    assert_eq!(
        e,
        ServiceError::Wamp(Error::Timeout(Duration::from_millis(100)))
    );
    until("the timed-out handler ends", || worker.ended() == 1).await;
    // The call's own timeout wins over the stub's; the disclosure applies to every call.
    let who = jobs.run(300).timeout(WAIT).await.unwrap();
    assert_eq!(who, Some(caller.id()));
    // Another stub on the same session has its own defaults.
    let plain = JobsClient::new(caller.clone());
    assert_eq!(plain.run(0).await.unwrap(), None);
}

#[tokio::test]
async fn a_progressive_stub_call_takes_the_same_options() {
    let (_r, worker, _callee, caller) = setup().await;
    let jobs = JobsClient::new(caller.clone());
    let mut counting = jobs.count(3).timeout(Duration::from_millis(300));
    for expected in 0..3 {
        assert_eq!(counting.next().await.unwrap().unwrap(), expected);
    }
    let e = counting.next().await.unwrap().unwrap_err();
    assert_eq!(
        e,
        ServiceError::Wamp(Error::Timeout(Duration::from_millis(300)))
    );
    assert!(counting.next().await.is_none());
    until("the interrupted stream ends", || worker.ended() == 1).await;

    // Canceled through its handle, before and after it started.
    let counting = jobs.count(1);
    let handle = counting.cancel_handle().expect("not started");
    let mut counting = counting;
    assert_eq!(counting.next().await.unwrap().unwrap(), 0);
    handle.cancel(CancelMode::Kill).unwrap();
    let e = counting.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&e, ServiceError::Wamp(w) if w.uri() == Some(error::CANCELED)),
        "{e:?}"
    );
    assert!(counting.cancel_handle().is_none(), "started");
    until("the canceled stream ends", || worker.ended() == 2).await;
}

#[allow(dead_code)]
fn the_stub_methods_return_call_values(jobs: &JobsClient) {
    // Not awaited: a value to configure (it does nothing until awaited).
    let _call: wamp_runtime::ServiceCall<Option<u64>, JobError> = jobs.run(1);
    let _stream: wamp_runtime::ServiceStream<u32, JobError> = jobs.count(1);
    let _unused = WampError::new("com.example.unused");
}

#[service(prefix = "com.example.limited")]
trait Limited {
    /// Holds its caller until let go, one caller at a time.
    #[wamp(concurrency = 1)]
    async fn hold(&self) -> u64;
}

/// Holds each call until `release` is notified.
#[derive(Clone, Default)]
struct Gate {
    started: Arc<AtomicU64>,
    release: Arc<tokio::sync::Notify>,
}

impl Limited for Gate {
    async fn hold(&self) -> u64 {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        self.release.notified().await;
        n
    }
}

#[tokio::test]
async fn a_procedure_concurrency_refuses_the_call_past_it() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let gate = Gate::default();
    gate.clone().register_on(&callee).await.unwrap().detach();
    let limited = LimitedClient::new(caller.clone());
    let call = || {
        let limited = limited.clone();
        tokio::spawn(async move { limited.hold().await })
    };
    let first = call();
    until("the first call runs", || {
        gate.started.load(Ordering::SeqCst) == 1
    })
    .await;
    match limited.hold().await {
        Err(e) => assert_eq!(
            e.uri(),
            Some("crossbar.error.max_concurrency_reached"),
            "{e}"
        ),
        other => panic!("the second call is refused: {other:?}"),
    }
    gate.release.notify_one();
    assert_eq!(first.await.unwrap().unwrap(), 1);
    until("no call in flight", || r.calls_in_flight("realm1") == 0).await;
    let next = call();
    until("the next call runs", || {
        gate.started.load(Ordering::SeqCst) == 2
    })
    .await;
    gate.release.notify_one();
    assert_eq!(
        next.await.unwrap().unwrap(),
        2,
        "free again once it answered"
    );
}
