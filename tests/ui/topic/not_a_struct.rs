use wamp_runtime::topic;

#[topic("com.example.things")]
enum NotAStruct {
    A,
}

fn main() {}
