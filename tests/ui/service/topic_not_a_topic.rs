use wamp_runtime::service;

struct Weather {
    celsius: f64,
}

#[service(prefix = "com.example", topics(Weather))]
trait Station {
    async fn reading(&self) -> f64;
}

fn main() {}
