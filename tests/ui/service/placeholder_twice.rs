use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Moves {
    #[wamp(uri = "com.example.move.{from}.{from}")]
    async fn go(&self, from: String);
}

fn main() {}
