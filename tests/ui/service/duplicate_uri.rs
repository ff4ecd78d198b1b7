use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Twice {
    async fn add(&self, a: i64) -> i64;
    #[wamp(uri = "com.example.add")]
    async fn plus(&self, a: i64) -> i64;
}

fn main() {}
