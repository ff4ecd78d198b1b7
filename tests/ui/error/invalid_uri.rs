use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Invalid {
    #[wamp(uri = "com.example..error")]
    One,
}

fn main() {}
