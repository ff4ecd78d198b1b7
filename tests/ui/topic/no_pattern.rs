use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic]
#[derive(Serialize, Deserialize)]
struct NoPattern {
    room: String,
}

fn main() {}
