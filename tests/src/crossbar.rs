//! Crossbar.io, the reference WAMP router, started for a test: a node with realm `realm1`
//! open to anonymous sessions, on a free loopback port, speaking JSON, MessagePack and CBOR.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::crossbar_bin;

/// A running Crossbar.io node; stopped (with its workers) when dropped.
pub struct Crossbar {
    child: Child,
    dir: PathBuf,
    port: u16,
    raw_port: u16,
}

const CONFIG: &str = r#"{
  "version": 2,
  "controller": {},
  "workers": [{
    "type": "router",
    "realms": [{
      "name": "realm1",
      "roles": [{
        "name": "anonymous",
        "permissions": [{
          "uri": "", "match": "prefix",
          "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
          "disclose": {"caller": true, "publisher": true},
          "cache": true
        }]
      }, {
        "name": "user",
        "permissions": [{
          "uri": "", "match": "prefix",
          "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
          "disclose": {"caller": true, "publisher": true},
          "cache": true
        }]
      }]
    }],
    "transports": [{
      "type": "websocket",
      "endpoint": {"type": "tcp", "port": PORT, "interface": "127.0.0.1"},
      "serializers": ["json", "msgpack", "cbor"],
      "auth": {
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "static", "principals": {"alice": {"ticket": "alice's ticket", "role": "user"}}},
        "wampcra": {"type": "static", "users": {
          "joe": {"secret": "secret1", "role": "user"},
          "peter": {"secret": "secret2", "role": "user",
                    "salt": "salt123", "iterations": 100, "keylen": 16}
        }},
        "cryptosign": {"type": "static", "principals": {"device": {
          "realm": "realm1", "role": "user",
          "authorized_keys": ["1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"]
        }}},
        "scram": {"type": "static", "principals": {"sam": {
          "role": "user", "kdf": "argon2id-13", "memory": 512, "iterations": 4096,
          "salt": "e96e02d8e47f2a7c03be5117b3ed175c",
          "stored-key": "84bfd3be3ec73c01291012f1c6efe9c046af686c0f4c6ff7eb447d258b33f590",
          "server-key": "d0b352a239d888ddf4b449d7c1280b7c0b85af185ef49900a4a873bf8e1d1d3f"
        }}}
      }
    }, {
      "type": "rawsocket",
      "endpoint": {"type": "tcp", "port": RAWPORT, "interface": "127.0.0.1"},
      "serializers": ["json", "msgpack", "cbor"],
      "auth": {"anonymous": {"type": "static", "role": "anonymous"}}
    }]
  }]
}"#;

impl Crossbar {
    /// Starts a node on free ports and waits (up to 2 minutes) until it accepts
    /// connections.
    pub async fn start() -> Crossbar {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        Self::start_on(free_port(), free_port()).await
    }

    /// Stops the node (as `Drop` does) and starts a new one on the same ports.
    pub async fn restart(self) -> Crossbar {
        let (port, raw_port) = (self.port, self.raw_port);
        drop(self);
        Self::start_on(port, raw_port).await
    }

    /// Starts a node with its WebSocket on `port` and its RawSocket on `raw_port`.
    async fn start_on(port: u16, raw_port: u16) -> Crossbar {
        let exe = crossbar_bin();
        let dir = std::env::temp_dir().join(format!("wamp-crossbar-{}-{port}", std::process::id()));
        let cbdir = dir.join(".crossbar");
        std::fs::create_dir_all(&cbdir).expect("node directory");
        std::fs::write(
            cbdir.join("config.json"),
            CONFIG
                .replace("RAWPORT", &raw_port.to_string())
                .replace("PORT", &port.to_string()),
        )
        .expect("config");
        let log = std::fs::File::create(dir.join("node.log")).expect("log file");
        let child = Command::new(exe)
            .args(["start", "--cbdir"])
            .arg(&cbdir)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            // Its own process group, so the node and its workers stop together.
            .process_group(0)
            .spawn()
            .expect("crossbar starts");
        let mut node = Crossbar {
            child,
            dir,
            port,
            raw_port,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return node;
            }
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("crossbar exited ({status}):\n{}", node.log());
            }
            assert!(
                Instant::now() < deadline,
                "crossbar not ready in time:\n{}",
                node.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The node's WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// The node's RawSocket URL.
    pub fn rawsocket_url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.raw_port)
    }

    /// What the node logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    fn signal_group(&self, signal: Signal) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(pid), signal);
        }
    }
}

impl Drop for Crossbar {
    fn drop(&mut self) {
        self.signal_group(Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.signal_group(Signal::SIGKILL);
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
