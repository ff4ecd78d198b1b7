use wamp_runtime::service;

#[service(prefix = "com.example")]
trait BadUris {
    #[wamp(uri = "wamp.session.count")]
    async fn reserved(&self) -> i64;
}

fn main() {}
