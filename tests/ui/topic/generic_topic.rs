use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.generic")]
#[derive(Serialize, Deserialize)]
struct Generic<T> {
    value: T,
}

fn main() {}
