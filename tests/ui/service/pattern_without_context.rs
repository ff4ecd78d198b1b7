use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Options {
    #[wamp(uri = "com.example.any.", match = "prefix")]
    async fn no_context(&self) -> i64;
}

fn main() {}
