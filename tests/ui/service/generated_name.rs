use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn register_on(&self) -> i64;
}

fn main() {}
