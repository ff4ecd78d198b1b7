//! Compile-time checks of `#[service]`, `#[topic]` and `#[derive(WampError)]`: every
//! mistake fails to compile with a message at the user's tokens
//! (`tests/ui/{service,topic,error}/*.rs`, one diagnostic each, named for it, with their
//! `.stderr`), and what is right compiles, without the prelude too (`tests/ui/pass/`).
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p tests --test all ui::`.

#[test]
fn macro_mistakes_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/service/*.rs");
    t.compile_fail("ui/topic/*.rs");
    t.compile_fail("ui/error/*.rs");
    t.pass("ui/pass/*.rs");
}
