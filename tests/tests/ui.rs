//! Compile-time checks of `#[service]` and `#[derive(WampError)]`: every mistake fails to
//! compile with a message at the user's tokens (`tests/ui/*.rs` and their `.stderr`).
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p tests --test ui`.

#[test]
fn macro_mistakes_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
