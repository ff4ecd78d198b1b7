use wamp_runtime::{service, CallContext};

#[service(prefix = "com.example")]
trait Files {
    #[wamp(uri = "com.example.files.{bucket}.read", match = "wildcard")]
    async fn read(&self, ctx: CallContext, bucket: String) -> String;
}

fn main() {}
