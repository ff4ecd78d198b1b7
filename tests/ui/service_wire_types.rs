use wamp_runtime::service;

struct NotSerde;

#[service(prefix = "com.example")]
trait Wire {
    async fn takes(&self, value: NotSerde) -> i64;
    async fn gives(&self) -> NotSerde;
    async fn fails(&self) -> Result<i64, String>;
}

fn main() {}
