use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Shapes {
    #[wamp(result = "dict")]
    async fn area(&self, w: f64, h: f64) -> f64;
}

fn main() {}
