use wamp_runtime::service;

#[service(prefix = "com.example", prefix = "com.other")]
trait Twice {
    #[wamp(uri = "com.example.a", uri = "com.example.b")]
    async fn a(&self) -> i64;
    #[wamp(timeout_ms = 100, timeout_ms = 200)]
    async fn b(&self) -> i64;
}

fn main() {}
