use wamp_runtime::service;

struct NotSerde;

#[service(prefix = "com.example")]
trait Wire {
    async fn fails(&self) -> Result<i64, String>;
}

fn main() {}
