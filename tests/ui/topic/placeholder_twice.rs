use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.{room}.{room}")]
#[derive(Serialize, Deserialize)]
struct Twice {
    room: String,
}

fn main() {}
