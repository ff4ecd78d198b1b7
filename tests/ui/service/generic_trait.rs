use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Store<T: Send + Sync> {
    async fn get(&self, key: String) -> Option<String>;
}

fn main() {}
