#![deny(deprecated)]

use wamp_runtime::service;

#[service(prefix = "com.example")]
trait Old {
    #[deprecated(note = "use `new_way`")]
    async fn old_way(&self) -> u32;
}

fn call(stub: &OldClient) {
    let _ = stub.old_way();
}

fn main() {}
