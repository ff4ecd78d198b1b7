//! The TOML file: each section, its errors with their line and key, the documented example.

use super::*;

fn check(text: &str) -> Result<RouterBuilder, ConfigError> {
    parse(text, Path::new("router.toml"), Path::new("."))
}

#[test]
fn errors_name_the_line_and_key() {
    let e = check("[[realm]]\nname = \"realm1\"\n\n[[listener]]\ntype = \"websocket\"\naddress = \"nowhere\"\n")
        .expect_err("bad address");
    assert_eq!((e.line, e.key.as_str()), (6, "address"), "{e}");
    let e = check("[[realm]]\nname = \"realm1\"\n[[principal]]\nauthid = \"a\"\nrealm = \"realm2\"\nrole = \"x\"\nticket = \"t\"\n")
        .expect_err("unknown realm");
    assert_eq!((e.line, e.key.as_str()), (5, "principal.realm"), "{e}");
    let e = check("[router]\nhelo_timeout = 3\n[[realm]]\nname = \"r\"\n").expect_err("typo");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("helo_timeout"), "{e}");
    let e = check("[router]\nhello_timeout = \"soon\"\n[[realm]]\nname = \"r\"\n")
        .expect_err("duration");
    assert_eq!((e.line, e.key.as_str()), (2, "router.hello_timeout"), "{e}");
    assert!(e.to_string().starts_with("router.toml:2:"), "{e}");
}

#[test]
fn the_cluster_section() {
    let realm = "[[realm]]\nname = \"r\"\n";
    let text = format!("{realm}[cluster]\nnats = \"nats://10.0.0.1:4222\"\nca = \"ca.pem\"\nname = \"eu\"\nnode = \"a-1\"\nnode_timeout = \"6s\"\n");
    let c = check(&text)
        .expect("valid")
        .config
        .cluster
        .expect("a cluster");
    assert_eq!(
        (c.nats.as_str(), c.name.as_str(), c.node.as_str()),
        ("nats://10.0.0.1:4222", "eu", "a-1")
    );
    assert_eq!(c.node_timeout, Duration::from_secs(6));
    assert!(c.ca.as_ref().is_some_and(|p| p.ends_with("ca.pem")));
    let bad = format!("{realm}[cluster]\nnats = \"nats://x\"\nname = \"e.u\"\n");
    let e = check(&bad).expect_err("a dot in the name");
    assert_eq!((e.line, e.key.as_str()), (5, "cluster.name"), "{e}");
    let missing = format!("{realm}[cluster]\nname = \"eu\"\n");
    assert!(check(&missing).is_err(), "nats is required");
    assert!(check(realm).expect("valid").config.cluster.is_none());
}

#[test]
fn listener_paths() {
    let text = "[[realm]]\nname = \"r\"\n[[listener]]\ntype = \"websocket\"\naddress = \"127.0.0.1:0\"\n[[listener.paths]]\npath = \"/ws\"\nserializers = [\"json\"]\nauth = [\"ticket\"]\n[[listener.paths]]\npath = \"/\"\nstatic = \".\"\n";
    let b = check(text).expect("valid");
    assert_eq!(b.listeners[0].paths.len(), 2);
    let bad = text.replace("static = \".\"", "static = \".\"\nauth = [\"ticket\"]");
    assert_eq!(check(&bad).expect_err("mixed").key, "listener.paths.static");
    let raw = text.replace("type = \"websocket\"", "type = \"rawsocket\"");
    assert_eq!(check(&raw).expect_err("rawsocket").key, "listener.paths");
}

#[test]
fn a_role_with_an_authorizer() {
    let ok = "[[realm]]\nname = \"r\"\n[[realm.role]]\nname = \"u\"\nauthorizer = \"com.example.authorize\"\n";
    let b = check(ok).expect("valid");
    let roles = b.config.roles.get("r").expect("roles");
    assert_eq!(roles.authorizer("u"), Some("com.example.authorize"));
    let both =
        format!("{ok}permissions = [{{ uri = \"\", match = \"prefix\", allow = [\"call\"] }}]\n");
    let e = check(&both).expect_err("both");
    assert_eq!(e.key, "realm.role.authorizer", "{e}");
    let bad = ok.replace("com.example.authorize", "com..authorize");
    assert_eq!(
        check(&bad).expect_err("bad URI").key,
        "realm.role.authorizer"
    );
}

#[test]
fn scram_principals_are_checked() {
    let head = "[[realm]]\nname = \"r\"\n[[realm.role]]\nname = \"u\"\n[[principal]]\nauthid = \"a\"\nrealm = \"r\"\nrole = \"u\"\n";
    let key = "00".repeat(32);
    for (scram, why) in [
        (format!("{{ kdf = \"scrypt\", iterations = 1, salt = \"0011223344556677\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "kdf"),
        (format!("{{ kdf = \"argon2id13\", iterations = 1, salt = \"0011223344556677\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "memory"),
        (format!("{{ kdf = \"pbkdf2\", iterations = 1, salt = \"00\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "salt"),
        (format!("{{ kdf = \"pbkdf2\", iterations = 1, salt = \"0011223344556677\", stored_key = \"00\", server_key = \"{key}\" }}"), "stored"),
    ] {
        let e = check(&format!("{head}scram = {scram}\n")).expect_err(why);
        assert_eq!((e.line, e.key.as_str()), (9, "principal.scram"), "{why}: {e}");
    }
}

#[test]
fn the_history_sections() {
    let text = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"com.log\"\n[[realm.history]]\nuri = \"com.feed.\"\nmatch = \"prefix\"\nlimit = 500\nmax_age = \"1h\"\n";
    let b = check(text).expect("valid");
    let h = b.config.history.get("r").expect("kept");
    assert_eq!(
        h,
        &vec![
            crate::EventHistory::new("com.log", MatchPolicy::Exact),
            crate::EventHistory::new("com.feed.", MatchPolicy::Prefix)
                .limit(500)
                .max_age(Duration::from_secs(3600)),
        ]
    );
    let bad = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"com..log\"\n";
    let e = check(bad).expect_err("not an exact URI");
    assert_eq!((e.line, e.key.as_str()), (4, "realm.history.uri"), "{e}");
    let zero = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"a\"\nlimit = 0\n";
    assert_eq!(check(zero).expect_err("zero").key, "realm.history.limit");
}

#[test]
fn crossbar_star_uris() {
    let (exact, prefix, wild) = (
        MatchPolicy::Exact,
        MatchPolicy::Prefix,
        MatchPolicy::Wildcard,
    );
    assert_eq!(permission_uri("*", None), (String::new(), prefix));
    assert_eq!(permission_uri("com.a.*", None), ("com.a.".into(), prefix));
    assert_eq!(permission_uri("com.*.x", None), ("com..x".into(), wild));
    assert_eq!(permission_uri("com.a", None), ("com.a".into(), exact));
    let given = Some(PolicyName::Prefix);
    assert_eq!(permission_uri("com.*", given), ("com.*".into(), prefix));
}

#[test]
fn the_documented_example_is_valid() {
    let text = include_str!("../../../examples/router.toml");
    let b = check(text).unwrap_or_else(|e| panic!("examples/router.toml: {e}"));
    assert_eq!(b.listeners.len(), 2);
}

#[test]
fn a_full_file_is_accepted() {
    let text = r#"
[router]
hello_timeout = "5s"
auth_timeout = 3
slow_consumer = "disconnect"
anonymous = false
metrics = "127.0.0.1:9464"
max_subscriptions = 100
max_registrations = 10

[[listener]]
type = "websocket"
address = "127.0.0.1:0"
serializers = ["json", "cbor"]
auth = ["ticket", "cryptosign"]
max_sessions = 10

[[realm]]
name = "realm1"
anonymous = "guest"
[[realm.role]]
name = "user"
disclose_caller = false
permissions = [
  { uri = "com.example.", match = "prefix", allow = ["call", "subscribe"] },
  { uri = "com..status", match = "wildcard", allow = ["publish"] },
]

[[principal]]
authid = "alice"
realm = "realm1"
role = "user"
ticket = "secret"
wampcra = { secret = "s", salt = "salt", iterations = 100, keylen = 16 }
cryptosign = ["545efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122"]
scram = { kdf = "pbkdf2", iterations = 4096, salt = "0011223344556677", stored-key = "84bfd3be3ec73c01291012f1c6efe9c046af686c0f4c6ff7eb447d258b33f590", server_key = "d0b352a239d888ddf4b449d7c1280b7c0b85af185ef49900a4a873bf8e1d1d3f" }
"#;
    let b = check(text).expect("valid");
    assert_eq!(b.listeners.len(), 1);
    assert_eq!(b.config.metrics, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(b.config.max_subscriptions, Some(100));
    assert_eq!(b.config.max_registrations, Some(10));
    let e = check(&text.replace("545efb", "zz5efb")).expect_err("bad key");
    assert_eq!(e.key, "principal.cryptosign");
}
