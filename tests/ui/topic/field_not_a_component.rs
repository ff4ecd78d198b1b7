use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[derive(Clone, Serialize, Deserialize)]
struct Room {
    name: String,
}

#[topic("com.example.sensor.{room}")]
#[derive(Serialize, Deserialize)]
struct NotAComponent {
    room: Room,
}

fn main() {}
