use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Options {
    #[wamp(concurrency = 0)]
    async fn never(&self) -> i64;
}

fn main() {}
