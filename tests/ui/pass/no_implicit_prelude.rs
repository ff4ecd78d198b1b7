//! The generated code names everything by absolute path: it compiles without the prelude.
#![no_implicit_prelude]

#[derive(Debug, ::wamp_runtime::WampError)]
enum CalcError {
    #[wamp(uri = "com.example.calc.overflow")]
    Overflow { limit: i64 },
    #[wamp(uri = "wamp.error.not_authorized")]
    NotAuthorized,
    #[wamp(other)]
    Other(::wamp_runtime::WampError),
}

#[::wamp_runtime::service(prefix = "com.example.calc", topics(Temperature))]
trait Calculator {
    async fn add(&self, a: i64, b: i64) -> ::std::result::Result<i64, CalcError>;
    async fn any(&self) -> ::std::result::Result<(), ::wamp_runtime::WampError>;
    #[cfg(any())]
    async fn never(&self);
    #[deprecated]
    async fn old(&self) -> u32;
    #[wamp(uri = "com.example.calc.{unit}.convert")]
    async fn convert(&self, unit: ::std::string::String, value: f64) -> f64;
    #[wamp(result = "args")]
    async fn pair(
        &self,
        r#type: ::std::string::String,
        #[wamp(kwarg, rename = "n")] count: u32,
    ) -> (u32, u32);
    #[wamp(progressive)]
    fn count(
        &self,
        n: u32,
    ) -> impl ::wamp_runtime::Stream<Item = ::std::result::Result<u32, CalcError>> + ::std::marker::Send;
}

#[::wamp_runtime::topic("com.example.sensor.{room}.temperature")]
#[derive(::wamp_runtime::serde::Serialize, ::wamp_runtime::serde::Deserialize)]
#[serde(crate = "::wamp_runtime::serde")]
struct Temperature {
    room: ::std::string::String,
    celsius: f64,
}

fn main() {}
