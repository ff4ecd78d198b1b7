use wamp_runtime::{service, Stream, WampError};

#[derive(Debug, WampError)]
enum CountError {
    #[wamp(uri = "com.example.count.too_far")]
    TooFar,
}

#[service(prefix = "com.example")]
trait Counting {
    fn not_send(&self, n: u32) -> impl Stream<Item = Result<u32, CountError>>;
}

fn main() {}
