use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Logs {
    #[wamp(uri = "com.example.logs.{app}.{*path}")]
    async fn write(&self, app: String, path: String, line: String);
}

fn main() {}
