use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Missing {
    #[wamp(uri = "com.example.error.one")]
    One,
    Two,
}

fn main() {}
