use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.things")]
enum NotAStruct {
    A,
}

#[topic("com.example.generic")]
#[derive(Serialize, Deserialize)]
struct Generic<T> {
    value: T,
}

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
