use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Logs {
    #[wamp(uri = "com.example.logs.{*path}.write")]
    async fn write(&self, path: String, line: String);
}

fn main() {}
