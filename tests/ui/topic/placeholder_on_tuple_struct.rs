use serde::{Deserialize, Serialize};
use wamp_runtime::topic;

#[topic("com.example.{0}")]
#[derive(Serialize, Deserialize)]
struct Tuple(String);

fn main() {}
