use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example..{room}")]
#[derive(Serialize, Deserialize)]
struct EmptyComponent {
    room: String,
}

fn main() {}
