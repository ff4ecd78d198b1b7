use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    fn not_async(&self) -> i64;
}

fn main() {}
