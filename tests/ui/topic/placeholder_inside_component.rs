use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.sensor_{room}.temperature")]
#[derive(Serialize, Deserialize)]
struct Partial {
    room: String,
}

fn main() {}
