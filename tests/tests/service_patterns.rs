//! Typed pattern procedures against the bundled router: a procedure URI with `{name}`
//! placeholders registers a wildcard pattern, the callee receives each placeholder parsed
//! from the URI called, and the stub builds the concrete URI from its arguments.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{join, start_router};
use wamp_runtime::proto::error;
use wamp_runtime::{service, CallContext, Endpoint, Error, Serializer};

#[service(prefix = "com.example.files")]
trait Files {
    /// Reads `path` from `bucket`, which is in the URI.
    #[wamp(uri = "com.example.files.{bucket}.read")]
    async fn read(&self, bucket: String, path: String) -> String;
    /// A prefix registration: `path` is every component after the prefix.
    #[wamp(uri = "com.example.logs.{*path}")]
    async fn log(&self, path: String, line: String) -> String;
    /// Two placeholders, one of them a number, and the call context.
    #[wamp(uri = "com.example.shelf.{shelf}.slot.{slot}.get")]
    async fn slot(&self, ctx: CallContext, shelf: String, slot: u32) -> (String, u32, String);
}

struct Store;

impl Files for Store {
    async fn read(&self, bucket: String, path: String) -> String {
        format!("{bucket}:{path}")
    }
    async fn slot(&self, ctx: CallContext, shelf: String, slot: u32) -> (String, u32, String) {
        (shelf, slot, ctx.procedure)
    }
    async fn log(&self, path: String, line: String) -> String {
        format!("{path}: {line}")
    }
}

#[tokio::test]
async fn placeholders_travel_in_the_uri() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let registered = Store.register_on(&callee).await.unwrap();
    let patterns: Vec<&str> = registered
        .registrations()
        .iter()
        .map(|r| r.procedure())
        .collect();
    assert_eq!(
        patterns,
        [
            "com.example.files..read",
            "com.example.logs",
            "com.example.shelf..slot..get"
        ],
        "registered as wildcard and prefix patterns"
    );
    let files = FilesClient::new(caller.clone());
    // The stub fills the URI; the rest are the arguments.
    assert_eq!(files.read("b1".into(), "x".into()).await.unwrap(), "b1:x");
    let (shelf, slot, called) = files.slot("top".into(), 7).await.unwrap();
    assert_eq!((shelf.as_str(), slot), ("top", 7));
    assert_eq!(called, "com.example.shelf.top.slot.7.get");
    // An untyped caller calls the concrete URI with the other arguments.
    let text: String = caller
        .call("com.example.files.b2.read", ("y",))
        .await
        .unwrap();
    assert_eq!(text, "b2:y");
    // A placeholder that does not parse as its type is an invalid argument.
    let e = caller
        .call::<()>("com.example.shelf.top.slot.seven.get", ())
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT));
    assert!(e.to_string().contains("slot"), "{e}");
    // A value that is not one URI component cannot be called.
    let e = files.read("a.b".into(), "x".into()).await.unwrap_err();
    assert!(matches!(e, Error::Serialize(_)), "{e:?}");
    // A tail: several components, through the stub and from an untyped caller.
    let logged = files.log("app.db.slow".into(), "hi".into()).await.unwrap();
    assert_eq!(logged, "app.db.slow: hi");
    let text: String = caller.call("com.example.logs.web", ("up",)).await.unwrap();
    assert_eq!(text, "web: up");
    // The prefix matches `com.example.logsX` too: no tail, an invalid argument.
    let e = caller
        .call::<String>("com.example.logsbook", ("x",))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT));
    let e = files.log("a..b".into(), "x".into()).await.unwrap_err();
    assert!(matches!(e, Error::Serialize(_)), "{e:?}");
    assert_eq!(
        FilesClient::procedure_uris(),
        [
            "com.example.files.{bucket}.read",
            "com.example.logs.{*path}",
            "com.example.shelf.{shelf}.slot.{slot}.get"
        ]
    );
}
