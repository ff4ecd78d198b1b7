use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn by_value(self) -> i64;
}

fn main() {}
