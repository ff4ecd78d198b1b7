//! Node configurations as Crossbar.io's documentation writes them, and what is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::Action;

fn read(text: &str) -> Result<RouterBuilder, ConfigError> {
    parse(text, Path::new("config.json"), Path::new("."))
}

/// A node configuration as Crossbar.io's documentation writes them.
const NODE: &str = r#"{
  "version": 2,
  "controller": {"id": "node1"},
  "workers": [{
    "type": "router",
    "realms": [{
      "name": "realm1",
      "roles": [
        {"name": "anonymous", "permissions": [{"uri": "", "match": "prefix",
          "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
          "disclose": {"caller": false, "publisher": false}, "cache": true}]},
        {"name": "user", "permissions": [{"uri": "com.example.*",
          "allow": {"call": true, "subscribe": true}}]},
        {"name": "partner", "authorizer": "com.example.authorize"}
      ],
      "store": {"type": "memory", "event-history": [{"uri": "com.example.log", "limit": 50}]}
    }],
    "transports": [{
      "type": "web",
      "endpoint": {"type": "tcp", "port": 0, "interface": "127.0.0.1"},
      "paths": {
        "ws": {"type": "websocket", "serializers": ["json", "msgpack", "ubjson"],
               "options": {"max_message_size": 1048576, "auto_ping_interval": 10000},
               "auth": {"ticket": {"type": "static", "principals": {
                 "alice": {"ticket": "secret", "role": "user"}}}}},
        "open": {"type": "websocket", "auth": {"anonymous": {"type": "static", "role": "anonymous"}}},
        "info": {"type": "nodeinfo"}
      }
    }, {
      "type": "rawsocket",
      "endpoint": {"type": "tcp", "port": 0, "interface": "127.0.0.1"},
      "auth": {"wampcra": {"type": "static", "users": {
        "joe": {"secret": "s", "role": "user", "salt": "salt", "iterations": 100, "keylen": 16}}}}
    }],
    "components": [{"type": "class", "classname": "app.Backend", "realm": "realm1"}]
  }, {"type": "guest", "executable": "node"}]
}"#;

#[test]
fn a_documented_node_configuration_is_read() {
    let b = read(NODE).expect("valid");
    assert_eq!(b.realms, ["realm1"]);
    assert_eq!(b.listeners.len(), 2);
    let web = &b.listeners[0];
    assert_eq!(web.paths.len(), 2, "ws and open; nodeinfo is skipped");
    assert_eq!(b.config.auth.anonymous.as_deref(), Some("anonymous"));
    assert_eq!(b.config.auth.principals.len(), 2);
    let roles = b.config.roles.get("realm1").unwrap();
    assert_eq!(roles.authorizer("partner"), Some("com.example.authorize"));
    assert!(roles
        .check("anonymous", Action::Register, "any.thing")
        .is_ok());
    assert!(roles.check("user", Action::Call, "com.example.add").is_ok());
    assert!(roles
        .check("user", Action::Register, "com.example.add")
        .is_err());
    assert!(roles
        .check("nobody", Action::Call, "com.example.add")
        .is_err());
    assert_eq!(b.config.history.get("realm1").map(Vec::len), Some(1));
}

#[test]
fn a_realm_without_roles_is_closed_as_in_crossbar() {
    let text = NODE.replace(r#""roles": ["#, r#""unused": ["#);
    // An unknown realm key is only a warning; roles gone means no role at all.
    let b = read(&text).expect("valid");
    let roles = b.config.roles.get("realm1").unwrap();
    assert!(roles.check("anonymous", Action::Call, "com.x").is_err());
}

#[test]
fn what_could_open_access_is_refused_with_its_key() {
    let cases = [
        (
            NODE.replace(r#""version": 2"#, r#""version": 1"#),
            "version",
        ),
        (
            NODE.replace(r#""cache": true"#, r#""validate": {"call": "x"}"#),
            "workers[0].realms[0].roles[0].permissions[0].validate",
        ),
        (
            NODE.replace(
                r#""allow": {"call": true, "subscribe": true}"#,
                r#""allow": {"call": true, "admin": true}"#,
            ),
            "workers[0].realms[0].roles[1].permissions[0].allow.admin",
        ),
        (
            NODE.replace(
                r#"{"type": "static", "principals": {
                 "alice""#,
                r#"{"type": "function", "principals": {
                 "alice""#,
            ),
            "workers[0].transports[0].paths.ws.auth.ticket.type",
        ),
        (
            NODE.replace(r#""role": "anonymous"}}}"#, r#""role": "user"}}}"#)
                .replace(
                    r#""auth": {"wampcra""#,
                    r#""auth": {"anonymous": {"type": "static", "role": "anonymous"}, "wampcra""#,
                ),
            "workers[0].transports[1].auth.anonymous",
        ),
    ];
    for (text, key) in cases {
        let e = read(&text).expect_err(key);
        assert_eq!(e.key, key, "{e}");
        assert!(e.to_string().starts_with("config.json: "), "{e}");
    }
    let e = read("{ not json").expect_err("syntax");
    assert_eq!(e.line, 1, "{e}");
}
