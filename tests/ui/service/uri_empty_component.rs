use wamp_runtime::service;

#[service(prefix = "com.example")]
trait BadUris {
    #[wamp(uri = "com.example.files.", match = "exact")]
    async fn trailing_dot(&self) -> i64;
}

fn main() {}
