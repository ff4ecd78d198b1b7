use wamp_runtime::WampError;

#[derive(Debug, WampError)]
enum Misspelled {
    #[wamp(url = "com.example.error.two")]
    Two,
}

fn main() {}
