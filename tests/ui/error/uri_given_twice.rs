use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Twice {
    #[wamp(uri = "com.example.error.one", uri = "com.example.error.other")]
    One,
}

fn main() {}
