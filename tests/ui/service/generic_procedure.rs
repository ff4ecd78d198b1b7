use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn generic<T>(&self, t: T) -> i64;
}

fn main() {}
