use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Labels {
    async fn set(&self, label: String, #[wamp(rename = "label")] text: String);
}

fn main() {}
