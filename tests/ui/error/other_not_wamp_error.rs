use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Refusal {
    #[wamp(other)]
    Other(String),
}

fn main() {}
