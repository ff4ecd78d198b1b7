use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    fn not_async(&self) -> i64;
    async fn by_value(self) -> i64;
    async fn mutable(&mut self) -> i64;
    async fn no_receiver() -> i64;
    async fn generic<T>(&self, t: T) -> i64;
    async fn borrowed(&self, name: &str) -> i64;
    async fn register_on(&self) -> i64;
}

fn main() {}
