//! Our router started from Crossbar.io's own `config.json`: a `web` transport whose paths
//! put a static directory and two WebSocket endpoints (each with its serializers and
//! authentication) on one port, a RawSocket transport, roles with the usual grant-all
//! permission, and Autobahn|Python joining as it would join Crossbar.io.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{free_port, run_python};
use wamp_runtime::proto::error;
use wamp_runtime::{Error, Serializer, Session, WampError};

const CONFIG: &str = r#"{
  "version": 2,
  "controller": {},
  "workers": [{
    "type": "router",
    "realms": [{
      "name": "realm1",
      "roles": [
        {"name": "anonymous", "permissions": [{"uri": "", "match": "prefix",
          "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
          "disclose": {"caller": false, "publisher": false}, "cache": true}]},
        {"name": "user", "permissions": [{"uri": "com.example.", "match": "prefix",
          "allow": {"call": true, "register": false, "publish": true, "subscribe": true}}]}
      ]
    }],
    "transports": [{
      "type": "web",
      "endpoint": {"type": "tcp", "port": WEBPORT, "interface": "127.0.0.1"},
      "paths": {
        "/": {"type": "static", "directory": "web"},
        "ws": {"type": "websocket", "serializers": ["json", "msgpack"],
               "auth": {"ticket": {"type": "static", "principals": {
                 "alice": {"ticket": "alice-secret", "role": "user"}}}}},
        "open": {"type": "websocket", "serializers": ["json", "msgpack", "cbor"],
                 "auth": {"anonymous": {"type": "static", "role": "anonymous"}}}
      }
    }, {
      "type": "rawsocket",
      "endpoint": {"type": "tcp", "port": RAWPORT, "interface": "127.0.0.1"},
      "serializers": ["json", "msgpack", "cbor"],
      "auth": {"wampcra": {"type": "static", "users": {"joe": {"secret": "joe-secret", "role": "user"}}}}
    }]
  }]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crossbar_node_configuration_runs_our_router() {
    let dir = std::env::temp_dir().join(format!("wamp-cbconfig-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/index.html"), "<h1>hello</h1>").unwrap();
    let (web, raw) = (free_port(), free_port());
    let config = CONFIG
        .replace("WEBPORT", &web.to_string())
        .replace("RAWPORT", &raw.to_string());
    let path = dir.join("config.json");
    std::fs::write(&path, config).unwrap();
    let r = wamp_router::Router::from_config_file(&path)
        .expect("a Crossbar.io configuration")
        .start()
        .await
        .unwrap();
    let base = format!("ws://127.0.0.1:{web}");

    // The static directory at /, next to the WebSocket paths.
    let page = tests::http_get(format!("127.0.0.1:{web}").parse().unwrap(), "/").await;
    assert!(page.contains("<h1>hello</h1>"), "{page}");

    // The grant-all anonymous path, with Autobahn|Python as a Crossbar.io user has it.
    let open = format!("{base}/open");
    for ser in ["json", "cbor"] {
        let out = run_python("autobahn_basic.py", &[&open, "realm1", ser]).await;
        assert!(out.contains(&format!("ALL OK {ser}")), "{out}");
    }

    // /ws: ticket only, JSON and MessagePack only, role user (no REGISTER).
    let ws = format!("{base}/ws");
    let alice = Session::builder(ws.as_str(), "realm1")
        .serializer(Serializer::MsgPack)
        .ticket("alice", "alice-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(alice.authrole().as_deref(), Some("user"));
    let e = alice
        .register("com.example.mine", |(): ()| async {
            Ok::<_, WampError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED), "{e}");
    let anon = Session::builder(ws.as_str(), "realm1").connect().await;
    match anon {
        Err(Error::Aborted(w)) => assert_eq!(w.uri, error::NO_AUTH_METHOD),
        other => panic!("anonymous on /ws: {other:?}"),
    }
    let cbor = Session::builder(ws.as_str(), "realm1")
        .serializer(Serializer::Cbor)
        .ticket("alice", "alice-secret")
        .connect()
        .await;
    assert!(cbor.is_err(), "CBOR is not a serializer of /ws");
    // A path the transport does not have.
    let nowhere = Session::builder(format!("{base}/elsewhere").as_str(), "realm1")
        .connect()
        .await;
    assert!(nowhere.is_err());

    // The RawSocket transport with its WAMP-CRA user.
    let joe = Session::builder(format!("tcp://127.0.0.1:{raw}").as_str(), "realm1")
        .wampcra("joe", "joe-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(joe.authrole().as_deref(), Some("user"));
    drop(r);
    let _ = std::fs::remove_dir_all(dir);
}

/// The configuration `crossbar init` writes (Crossbar.io 26.10's default template, ports
/// aside), as it is: RawSocket on one port, a `web` transport with a static directory,
/// a WebSocket path and a node info page on another.
const CROSSBAR_INIT: &str = r#"{
    "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
    "version": 2,
    "controller": {
    },
    "workers": [
        {
            "type": "router",
            "realms": [
                {
                    "name": "realm1",
                    "roles": [
                        {
                            "name": "anonymous",
                            "permissions": [
                                {
                                    "uri": "",
                                    "match": "prefix",
                                    "allow": {
                                        "call": true,
                                        "register": true,
                                        "publish": true,
                                        "subscribe": true
                                    },
                                    "disclose": {
                                        "caller": false,
                                        "publisher": false
                                    },
                                    "cache": true
                                }
                            ]
                        }
                    ]
                }
            ],
            "transports": [
                {
                    "type": "rawsocket",
                    "endpoint": {
                        "type": "tcp",
                        "port": RAWPORT,
                        "backlog": 1024
                    },
                    "options": {
                        "max_message_size": 1048576
                    },
                    "serializers": ["cbor", "msgpack", "json"]
                },
                {
                    "type": "web",
                    "endpoint": {
                        "type": "tcp",
                        "port": WEBPORT,
                        "backlog": 1024
                    },
                    "paths": {
                        "/": {
                            "type": "static",
                            "directory": "../web",
                            "options": {
                                "enable_directory_listing": true
                            }
                        },
                        "ws": {
                            "type": "websocket",
                            "serializers": [
                                "cbor", "msgpack", "json"
                            ],
                            "options": {
                                "allowed_origins": ["*"],
                                "allow_null_origin": true,
                                "enable_webstatus": false,
                                "max_frame_size": 1048576,
                                "max_message_size": 1048576,
                                "auto_fragment_size": 65536,
                                "fail_by_drop": true,
                                "open_handshake_timeout": 2500,
                                "close_handshake_timeout": 1000,
                                "auto_ping_interval": 10000,
                                "auto_ping_timeout": 5000,
                                "auto_ping_size": 12,
                                "compression": {
                                    "deflate": {
                                        "request_no_context_takeover": false,
                                        "request_max_window_bits": 13,
                                        "no_context_takeover": false,
                                        "max_window_bits": 13,
                                        "memory_level": 5
                                    }
                                }
                            }
                        },
                        "info": {
                            "type": "nodeinfo"
                        }
                    }
                }
            ]
        }
    ]
}"#;

/// A `universal` transport: RawSocket, WebSocket paths and web paths on one port.
const UNIVERSAL: &str = r#"{
  "version": 2,
  "workers": [{
    "type": "router",
    "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [
      {"uri": "", "match": "prefix", "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}]}],
    "transports": [{
      "type": "universal",
      "endpoint": {"type": "tcp", "port": WEBPORT, "interface": "127.0.0.1"},
      "rawsocket": {"serializers": ["msgpack", "json"]},
      "websocket": {"ws": {"type": "websocket", "serializers": ["json", "cbor"]}},
      "web": {"paths": {"/": {"type": "static", "directory": "../web"}}}
    }]
  }]
}"#;

/// Writes `config` (ports filled in) as `.crossbar/config.json` next to a `web`
/// directory, and starts our router from it.
async fn node_dir(
    config: &str,
    name: &str,
) -> (wamp_router::RouterHandle, u16, u16, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("wamp-cb-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(".crossbar")).unwrap();
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/index.html"), "<h1>crossbar app</h1>").unwrap();
    let (web, raw) = (free_port(), free_port());
    let text = config
        .replace("WEBPORT", &web.to_string())
        .replace("RAWPORT", &raw.to_string());
    let path = dir.join(".crossbar/config.json");
    std::fs::write(&path, text).unwrap();
    let r = wamp_router::Router::from_config_file(&path)
        .expect("a Crossbar.io configuration")
        .start()
        .await
        .unwrap();
    (r, web, raw, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_crossbar_init_writes() {
    let (_r, web, raw, dir) = node_dir(CROSSBAR_INIT, "init").await;
    let page = tests::http_get(format!("127.0.0.1:{web}").parse().unwrap(), "/").await;
    assert!(page.contains("crossbar app"), "{page}");
    let ws = format!("ws://127.0.0.1:{web}/ws");
    let out = run_python("autobahn_basic.py", &[&ws, "realm1", "msgpack"]).await;
    assert!(out.contains("ALL OK msgpack"), "{out}");
    let tcp = format!("tcp://127.0.0.1:{raw}");
    let out = run_python("autobahn_basic.py", &[&tcp, "realm1", "cbor"]).await;
    assert!(out.contains("ALL OK cbor"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_universal_transport_serves_rawsocket_websocket_and_files_on_one_port() {
    let (_r, port, _, dir) = node_dir(UNIVERSAL, "universal").await;
    let page = tests::http_get(format!("127.0.0.1:{port}").parse().unwrap(), "/").await;
    assert!(page.contains("crossbar app"), "{page}");
    for url in [
        format!("ws://127.0.0.1:{port}/ws"),
        format!("tcp://127.0.0.1:{port}"),
    ] {
        let s = Session::builder(url.as_str(), "realm1")
            .serializer(Serializer::Json)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let n: u64 = s.call("wamp.session.count", ()).await.unwrap();
        assert!(n >= 1);
        s.leave().await.unwrap();
    }
    // Each side keeps its own serializers: CBOR over RawSocket is refused here.
    let cbor = Session::builder(format!("tcp://127.0.0.1:{port}").as_str(), "realm1")
        .serializer(Serializer::Cbor)
        .connect()
        .await;
    assert!(cbor.is_err());
    let _ = std::fs::remove_dir_all(dir);
}
