use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    async fn borrowed(&self, name: &str) -> i64;
}

fn main() {}
