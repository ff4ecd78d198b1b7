use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Labels {
    async fn set(&self, #[wamp(keyword)] label: String);
}

fn main() {}
