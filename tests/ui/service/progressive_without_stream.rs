use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Counting {
    #[wamp(progressive)]
    async fn count(&self, n: u32) -> Vec<u32>;
}

fn main() {}
