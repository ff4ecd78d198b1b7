use wamp_runtime::service;

struct NotSerde;

#[service(prefix = "com.example")]
trait Wire {
    async fn takes(&self, value: NotSerde) -> i64;
}

fn main() {}
