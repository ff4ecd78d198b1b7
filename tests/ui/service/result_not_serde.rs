use wamp_runtime::service;

struct NotSerde;

#[service(prefix = "com.example")]
trait Wire {
    async fn gives(&self) -> NotSerde;
}

fn main() {}
