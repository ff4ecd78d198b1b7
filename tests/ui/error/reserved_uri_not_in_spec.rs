use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Refusal {
    #[wamp(uri = "wamp.error.made_up")]
    MadeUp,
}

fn main() {}
