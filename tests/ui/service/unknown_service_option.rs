use wamp_runtime::service;

#[service(prefix = "com.example", realm = "realm1")]
trait Options {
    async fn policy(&self) -> i64;
}

fn main() {}
