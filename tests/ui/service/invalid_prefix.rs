use wamp_runtime::service;

#[service(prefix = "com..calc")]
trait BadPrefix {
    async fn add(&self, a: i64) -> i64;
}

fn main() {}
