use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Jobs {
    async fn timeout(&self, job: u64) -> bool;
}

fn main() {}
