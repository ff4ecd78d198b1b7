use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("wamp.session.on_join")]
#[derive(Serialize, Deserialize)]
struct Reserved {
    room: String,
}

fn main() {}
