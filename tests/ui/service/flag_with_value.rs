use wamp_runtime::{service, CallContext};

#[service(prefix = "com.example")]
trait Options {
    #[wamp(disclose_caller = "yes")]
    async fn flag_with_value(&self, ctx: CallContext) -> i64;
}

fn main() {}
