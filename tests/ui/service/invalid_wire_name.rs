use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Labels {
    async fn set(&self, #[wamp(rename = "two words")] label: String);
}

fn main() {}
