//! What a service trait may hold besides plain procedures, against the bundled router: a
//! default method body, a method configured out with `#[cfg]` (on neither side), and a
//! deprecated method (its stub method is deprecated too, with the same note).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{join, start_router};
use wamp_runtime::proto::error;
use wamp_runtime::{service, Endpoint, Serializer};

#[service(prefix = "com.example.items")]
trait Items {
    /// A default body: an implementation may leave it out.
    async fn version(&self) -> String {
        "1.0".to_owned()
    }
    /// Never compiled: neither registered nor on the stub.
    #[cfg(any())]
    async fn hidden(&self) -> u32;
    /// The old way.
    #[deprecated(note = "use `version`")]
    async fn old_version(&self) -> String;
}

struct Shelf;

impl Items for Shelf {
    async fn old_version(&self) -> String {
        "0.9".to_owned()
    }
}

#[tokio::test]
async fn default_bodies_cfg_and_deprecation_are_honoured_on_both_sides() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    let registered = Shelf.register_on(&callee).await.unwrap();
    let procedures: Vec<&str> = registered
        .registrations()
        .iter()
        .map(|r| r.procedure())
        .collect();
    assert_eq!(
        procedures,
        ["com.example.items.version", "com.example.items.old_version"]
    );
    let items = ItemsClient::new(caller.clone());
    assert_eq!(items.version().await.unwrap(), "1.0");
    #[allow(deprecated)]
    let old = items.old_version().await.unwrap();
    assert_eq!(old, "0.9");
    let e = caller
        .call::<u32>("com.example.items.hidden", ())
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE));
}
