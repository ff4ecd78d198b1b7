//! Procedural macros for `wamp-runtime`: `#[service]` turns a trait into WAMP procedures
//! and a typed caller stub; `#[derive(WampError)]` maps an error type to WAMP error URIs.
//!
//! Use them through `wamp-runtime`, which re-exports them. Each macro parses its input into
//! a model, validates the model (collecting every mistake, each reported at the user's own
//! tokens), then generates code that names runtime items only through
//! `::wamp_runtime::__private`.

mod attrs;
mod diag;
mod docs;
mod error;
mod service;
mod topic;
mod uri;

use proc_macro::TokenStream;

/// Turns a trait into a WAMP service.
///
/// ```ignore
/// #[wamp_runtime::service(prefix = "com.example.calc")]
/// pub trait Calculator {
///     async fn add(&self, a: i64, b: i64) -> Result<i64, CalcError>;
/// }
/// ```
///
/// generates the trait (each `async fn` returning a `Send` future), a provided method
/// `register_on(self, &Session)` that registers every procedure of an implementation, and
/// `CalculatorClient`, a caller stub with the same methods. See the README of
/// `wamp-runtime` for the per-procedure `#[wamp(...)]` attributes.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(attr.into(), item.into()).into()
}

/// Turns a struct into a typed topic.
///
/// ```ignore
/// #[wamp_runtime::topic("com.example.sensor.{room}.temperature")]
/// #[derive(Serialize, Deserialize)]
/// pub struct Temperature { pub room: String, pub celsius: f64 }
/// ```
///
/// generates `TemperatureKey` (the placeholders, each open or fixed), an implementation
/// of `wamp_runtime::Topic`, and `Temperature::publish(&self, &Session)` and
/// `Temperature::subscribe(&Session, TemperatureKey)`. Put it above the `derive`.
#[proc_macro_attribute]
pub fn topic(attr: TokenStream, item: TokenStream) -> TokenStream {
    topic::expand(attr.into(), item.into()).into()
}

/// Maps an error enum (or struct) to WAMP error URIs: each variant has
/// `#[wamp(uri = "...")]`; tuple fields travel as `args`, named fields as `kwargs`.
#[proc_macro_derive(WampError, attributes(wamp))]
pub fn derive_wamp_error(item: TokenStream) -> TokenStream {
    error::expand(item.into()).into()
}
