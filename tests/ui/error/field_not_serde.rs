use wamp_runtime::WampError;

#[derive(Debug)]
struct NotSerde;

#[derive(Debug, WampError)]
enum Fields {
    #[wamp(uri = "com.example.error.field")]
    One(NotSerde),
}

fn main() {}
