use wamp_runtime::service;

#[service(prefix = "com.example", topics = "Weather")]
trait Station {
    async fn reading(&self) -> f64;
}

fn main() {}
