use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Options {
    #[wamp(retries = 3)]
    async fn never(&self) -> i64;
}

fn main() {}
