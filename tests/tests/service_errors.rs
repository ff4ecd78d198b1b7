//! Errors of typed services beyond their own URIs, against the bundled router: the spec's
//! predefined errors in an error enum, `WampError` as a procedure's error type, and a
//! catch-all variant that reads errors an older contract does not know as data.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{join, start_router};
use wamp_runtime::proto::error;
use wamp_runtime::{service, CallContext, Endpoint, Error, Serializer, ServiceError, WampError};

#[derive(Debug, Clone, PartialEq, WampError)]
enum VaultError {
    /// The spec's own error, for a procedure that checks who calls.
    #[wamp(uri = "wamp.error.not_authorized")]
    NotAuthorized(String),
    #[wamp(uri = "com.example.vault.locked")]
    Locked,
    /// Anything else, as it came.
    #[wamp(other)]
    Other(WampError),
}

#[service(prefix = "com.example.vault")]
trait Vault {
    /// Opens for admins only.
    #[wamp(disclose_caller)]
    async fn open(&self, ctx: CallContext) -> Result<String, VaultError>;
    /// Fails with `uri`, through the catch-all variant.
    async fn refuse(&self, uri: String) -> Result<(), VaultError>;
    /// Fails with any error at all.
    async fn fail(&self, uri: String) -> Result<(), WampError>;
}

/// The same procedures as an older contract knew them: fewer errors.
#[derive(Debug, Clone, PartialEq, WampError)]
enum OldVaultError {
    #[wamp(uri = "com.example.vault.locked")]
    Locked,
    #[wamp(other)]
    Unknown(WampError),
}

#[service(prefix = "com.example.vault")]
#[allow(dead_code)] // only its stub is used here
trait OldVault {
    async fn fail(&self, uri: String) -> Result<(), OldVaultError>;
}

struct Safe;

impl Vault for Safe {
    async fn open(&self, ctx: CallContext) -> Result<String, VaultError> {
        match ctx.caller_authrole.as_deref() {
            Some("admin") => Ok("open".into()),
            role => Err(VaultError::NotAuthorized(format!(
                "the vault opens for admins, not for {role:?}"
            ))),
        }
    }
    async fn refuse(&self, uri: String) -> Result<(), VaultError> {
        Err(VaultError::Other(WampError::new(uri).arg("why")))
    }
    async fn fail(&self, uri: String) -> Result<(), WampError> {
        if uri == "com.example.vault.locked" {
            return Err(VaultError::Locked.into());
        }
        Err(WampError::with_message(uri, "failed on purpose"))
    }
}

#[tokio::test]
async fn a_procedure_answers_with_the_specs_errors_and_open_ones() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    Safe.register_on(&callee).await.unwrap().detach();
    let vault = VaultClient::new(caller.clone());

    // A spec error from a typed procedure: the stub reads it as its variant, an untyped
    // caller as the URI.
    match vault.open().await {
        Err(ServiceError::App(VaultError::NotAuthorized(text))) => {
            assert!(text.contains("admins"), "{text}")
        }
        other => panic!("{other:?}"),
    }
    let e = caller
        .call::<String>("com.example.vault.open", ())
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED));

    // The catch-all variant travels as the error it holds, and reads back as itself.
    let e = vault
        .refuse("com.example.vault.new_kind".into())
        .await
        .unwrap_err();
    let expected = WampError::new("com.example.vault.new_kind").arg("why");
    assert_eq!(e, ServiceError::App(VaultError::Other(expected)));
    // A known URI is its variant, whoever sent it.
    let e = vault
        .refuse("com.example.vault.locked".into())
        .await
        .unwrap_err();
    assert_eq!(e, ServiceError::App(VaultError::Locked));

    // WampError as the error type: any application error is the procedure's own…
    match vault.fail("com.example.vault.jammed".into()).await {
        Err(ServiceError::App(w)) => {
            assert_eq!(w.uri, "com.example.vault.jammed");
            assert_eq!(w.message(), Some("failed on purpose"));
        }
        other => panic!("{other:?}"),
    }
    // …and the spec's (`wamp.…`) stay ServiceError::Wamp.
    match vault.fail("wamp.error.invalid_argument".into()).await {
        Err(ServiceError::Wamp(Error::Application(w))) => {
            assert_eq!(w.uri, error::INVALID_ARGUMENT)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_older_contract_reads_newer_errors_as_data() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::MsgPack).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    Safe.register_on(&callee).await.unwrap().detach();
    let old = OldVaultClient::new(caller.clone());
    assert_eq!(
        old.fail("com.example.vault.locked".into())
            .await
            .unwrap_err(),
        ServiceError::App(OldVaultError::Locked)
    );
    match old.fail("com.example.vault.melted".into()).await {
        Err(ServiceError::App(OldVaultError::Unknown(w))) => {
            assert_eq!(w.uri, "com.example.vault.melted");
            assert_eq!(w.message(), Some("failed on purpose"));
        }
        other => panic!("{other:?}"),
    }
    // The spec's errors are not taken by the catch-all: a caller still tells a missing
    // procedure apart.
    #[service(prefix = "com.example.vault")]
    #[allow(dead_code)]
    trait Gone {
        async fn nowhere(&self) -> Result<(), OldVaultError>;
    }
    match GoneClient::new(caller.clone()).nowhere().await {
        Err(ServiceError::Wamp(e)) => assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE)),
        other => panic!("{other:?}"),
    }
}
