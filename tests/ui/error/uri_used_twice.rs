use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Twice {
    #[wamp(uri = "com.example.error.same")]
    One,
    #[wamp(uri = "com.example.error.same")]
    Two,
}

fn main() {}
