use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Refusal {
    #[wamp(other)]
    Other { uri: String, code: u32 },
}

fn main() {}
