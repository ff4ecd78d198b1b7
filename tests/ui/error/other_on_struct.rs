use wamp_runtime::WampError;

#[derive(Debug, WampError)]
#[wamp(other)]
struct Refusal(wamp_runtime::WampError);

fn main() {}
