use wamp_runtime::service;

#[service(prefix = "com..calc")]
trait BadPrefix {
    async fn add(&self, a: i64) -> i64;
}

#[service(prefix = "com.example")]
trait BadUris {
    #[wamp(uri = "com.example add")]
    async fn spaced(&self) -> i64;
    #[wamp(uri = "wamp.session.count")]
    async fn reserved(&self) -> i64;
    #[wamp(uri = "com.example.files.", match = "exact")]
    async fn trailing_dot(&self) -> i64;
}

#[service]
trait NoPrefix {
    async fn add(&self, a: i64) -> i64;
}

fn main() {}
