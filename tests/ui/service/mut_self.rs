use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn mutable(&mut self) -> i64;
}

fn main() {}
