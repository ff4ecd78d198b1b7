use wamp_runtime::service;

#[service]
trait NoPrefix {
    async fn add(&self, a: i64) -> i64;
}

fn main() {}
