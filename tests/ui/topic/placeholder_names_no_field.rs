use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.sensor.{rooom}.temperature")]
#[derive(Serialize, Deserialize)]
struct Misspelled {
    room: String,
    celsius: f64,
}

fn main() {}
