use wamp_runtime::{service, Stream, WampError};

#[service(prefix = "com.example")]
trait Counter {
    #[wamp(result = "args")]
    fn count(&self, n: u32) -> impl Stream<Item = Result<u32, WampError>> + Send;
}

fn main() {}
