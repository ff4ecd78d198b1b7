use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Options {
    #[wamp(disclose_caller)]
    async fn who(&self) -> i64;
}

fn main() {}
