use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Refusal {
    #[wamp(other)]
    Other(wamp_runtime::WampError),
    #[wamp(other)]
    Unknown(wamp_runtime::WampError),
}

fn main() {}
