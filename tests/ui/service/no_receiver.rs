use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn no_receiver() -> i64;
}

fn main() {}
