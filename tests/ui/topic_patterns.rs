use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.sensor.{rooom}.temperature")]
#[derive(Serialize, Deserialize)]
struct Misspelled {
    room: String,
    celsius: f64,
}

#[topic("com.example.sensor_{room}.temperature")]
#[derive(Serialize, Deserialize)]
struct Partial {
    room: String,
}

#[topic("com.example..{room}")]
#[derive(Serialize, Deserialize)]
struct EmptyComponent {
    room: String,
}

#[topic("com.example.{room}.{room}")]
#[derive(Serialize, Deserialize)]
struct Twice {
    room: String,
}

#[topic("com.example.{0}")]
#[derive(Serialize, Deserialize)]
struct Tuple(String);

#[topic]
#[derive(Serialize, Deserialize)]
struct NoPattern {
    room: String,
}

#[topic("wamp.session.on_join")]
#[derive(Serialize, Deserialize)]
struct Reserved {
    room: String,
}

fn main() {}
