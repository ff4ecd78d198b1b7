use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Missing {
    #[wamp(uri = "com.example.error.one")]
    One,
    Two,
}

#[derive(Debug, WampError)]
enum Twice {
    #[wamp(uri = "com.example.error.same")]
    One,
    #[wamp(uri = "com.example.error.same")]
    Two,
}

#[derive(Debug, WampError)]
enum Invalid {
    #[wamp(uri = "com.example..error")]
    One,
    #[wamp(url = "com.example.error.two")]
    Two,
}

struct NotSerde;

#[derive(Debug, WampError)]
enum Fields {
    #[wamp(uri = "com.example.error.field")]
    One(NotSerde),
}

fn main() {}
