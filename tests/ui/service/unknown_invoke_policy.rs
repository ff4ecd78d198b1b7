use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Options {
    #[wamp(invoke = "fastest")]
    async fn policy(&self) -> i64;
}

fn main() {}
