use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Files {
    #[wamp(uri = "com.example.files-{bucket}.read")]
    async fn read(&self, bucket: String) -> String;
}

fn main() {}
