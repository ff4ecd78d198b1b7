use wamp_runtime::{service, CallContext};

#[service(prefix = "com.example")]
trait Options {
    #[wamp(match = "regex")]
    async fn matching(&self, ctx: CallContext) -> i64;
}

fn main() {}
