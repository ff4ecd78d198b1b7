use wamp_runtime::{service, CallContext};

#[service(prefix = "com.example", realm = "realm1")]
trait Options {
    #[wamp(invoke = "fastest")]
    async fn policy(&self) -> i64;
    #[wamp(match = "regex")]
    async fn matching(&self, ctx: CallContext) -> i64;
    #[wamp(uri = "com.example.any.", match = "prefix")]
    async fn no_context(&self) -> i64;
    #[wamp(disclose_caller)]
    async fn who(&self) -> i64;
    #[wamp(timeout_ms = 0, retries = 3)]
    async fn never(&self) -> i64;
    #[wamp(disclose_caller = "yes")]
    async fn flag_with_value(&self, ctx: CallContext) -> i64;
}

fn main() {}
