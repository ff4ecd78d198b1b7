use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Scale {
    #[wamp(uri = "com.example.scale.{factor}.apply")]
    async fn apply(&self, factor: f64, value: f64) -> f64;
}

fn main() {}
