use wamp_runtime::service;

#[service(prefix = "com.example")]
trait BadUris {
    #[wamp(uri = "com.example add")]
    async fn spaced(&self) -> i64;
}

fn main() {}
