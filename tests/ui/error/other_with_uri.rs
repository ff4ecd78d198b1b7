use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Refusal {
    #[wamp(uri = "com.example.locked")]
    Locked,
    #[wamp(other, uri = "com.example.other")]
    Other(wamp_runtime::WampError),
}

fn main() {}
