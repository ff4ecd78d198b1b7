use wamp_runtime::{service, Stream, WampError};

#[derive(Debug, WampError)]
enum CountError {
    #[wamp(uri = "com.example.count.too_far")]
    TooFar,
}

#[service(prefix = "com.example")]
trait Counting {
    async fn streaming(&self, n: u32) -> impl Stream<Item = Result<u32, CountError>> + Send;
}

fn main() {}
