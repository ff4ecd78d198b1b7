//! A `nats-server` with JetStream on free loopback ports, for the cluster tests, and the
//! router nodes that join through it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use wamp_router::{Cluster, RouterHandle};

/// A running `nats-server`, stopped (and its store removed) when dropped.
pub struct Nats {
    child: Child,
    dir: PathBuf,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    /// The port clients connect to.
    pub port: u16,
    monitor: u16,
    /// What else the server was started with (its authorization).
    extra: Vec<String>,
}

use crate::free_port;

/// The `nats-server` to run: `$NATS_SERVER`, else Debian's (`/usr/sbin`) or the one on
/// the `PATH`, installed by `tests/setup-nats.sh` the first time it is missing.
fn nats_server() -> PathBuf {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            if find().is_none() {
                let script = crate::workspace().join("tests").join("setup-nats.sh");
                let status = std::process::Command::new("bash").arg(script).status();
                assert!(
                    status.is_ok_and(|s| s.success()),
                    "tests/setup-nats.sh could not install nats-server"
                );
            }
            find().unwrap_or_else(|| PathBuf::from("nats-server"))
        })
        .clone()
}

fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/bin".into()]);
    dirs.map(|d| d.join("nats-server")).find(|p| p.is_file())
}

impl Nats {
    /// Starts a server and waits until JetStream answers.
    pub async fn start() -> Nats {
        Self::start_with(&[]).await
    }

    /// Starts a server given `extra` arguments too (`--user`, `--pass`, `--auth`).
    pub async fn start_with(extra: &[&str]) -> Nats {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        // A port found free can be taken by another test's server before this one binds
        // it: then this server exits, and another pair of ports is tried.
        for _ in 0..5 {
            if let Some(nats) = Self::try_start_on(free_port(), free_port(), &extra).await {
                return nats;
            }
        }
        panic!("nats-server did not start on any of five pairs of free ports");
    }

    /// Stops the server and starts a new one on the same port (an empty store: what a
    /// NATS restart with a memory store looks like to the routers).
    pub async fn restart(mut self) -> Nats {
        let (port, monitor, extra) = (self.port, self.monitor, self.extra.clone());
        let _ = self.child.kill().await;
        drop(self);
        Self::start_on(port, monitor, &extra).await
    }

    /// Stops the server (its store goes with it); [`Stopped::start`] starts it again on
    /// the same port.
    pub async fn stop(mut self) -> Stopped {
        let (port, monitor, extra) = (self.port, self.monitor, self.extra.clone());
        let _ = self.child.kill().await;
        drop(self);
        Stopped {
            port,
            monitor,
            extra,
        }
    }

    async fn start_on(port: u16, monitor: u16, extra: &[String]) -> Nats {
        match Self::try_start_on(port, monitor, extra).await {
            Some(nats) => nats,
            None => panic!("nats-server could not listen on port {port} again"),
        }
    }

    /// `None` if the server exited (its ports were taken).
    async fn try_start_on(port: u16, monitor: u16, extra: &[String]) -> Option<Nats> {
        let dir = std::env::temp_dir().join(format!("wamp-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("store directory");
        let child = Command::new(nats_server())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
            .args(["-m", &monitor.to_string(), "-sd"])
            .arg(&dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server starts (install it: apt-get install nats-server)");
        let mut nats = Nats {
            child,
            dir,
            url: format!("nats://127.0.0.1:{port}"),
            port,
            monitor,
            extra: extra.to_vec(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let health = std::net::SocketAddr::from(([127, 0, 0, 1], monitor));
        loop {
            let ask = "GET /healthz?js-enabled-only=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            // The server may still be starting (refusing or resetting connections).
            if let Ok(answer) = crate::try_http_request(health, ask).await {
                // Ready, and this test's own server, not another test's on a taken port.
                if answer.starts_with("HTTP/1.1 200") && nats.child.try_wait().ok()?.is_none() {
                    return Some(nats);
                }
            }
            if nats.child.try_wait().ok()?.is_some() {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The cluster configuration of a node joining through this server.
    pub fn cluster(&self) -> Cluster {
        Cluster::nats(self.url.clone()).name("test")
    }

    /// An embedded router node of the cluster, on a free port, serving `realm1`.
    pub async fn node(&self) -> RouterHandle {
        crate::router()
            .cluster(self.cluster())
            .start()
            .await
            .expect("the node starts")
    }

    /// A node as [`Nats::node`] that also serves `/metrics` (see [`crate::metric`]).
    pub async fn node_with_metrics(&self) -> RouterHandle {
        crate::router()
            .cluster(self.cluster())
            .metrics("127.0.0.1:0".parse().expect("address"))
            .start()
            .await
            .expect("the node starts")
    }
}

/// A [`Nats`] stopped, to start again on the same ports.
pub struct Stopped {
    port: u16,
    monitor: u16,
    extra: Vec<String>,
}

impl Stopped {
    /// Starts the server again, empty.
    pub async fn start(self) -> Nats {
        Nats::start_on(self.port, self.monitor, &self.extra).await
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A router node run as its own process (`target/…/wamp-router`), to be killed.
pub struct NodeProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
}

/// The `wamp-router` binary next to the test executable, as `cargo test --workspace`
/// builds it.
fn router_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("the target directory");
    let bin = dir.join("wamp-router");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p wamp-router` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

impl NodeProcess {
    /// Starts a node of `nats`'s test cluster and waits until it listens.
    pub async fn start(nats: &Nats) -> NodeProcess {
        let port = free_port();
        let child = Command::new(router_binary())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--cluster", &nats.url, "--cluster-name", "test"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("wamp-router starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the node did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        NodeProcess {
            child,
            url: format!("ws://127.0.0.1:{port}/ws"),
        }
    }

    /// Stops the node's process (SIGSTOP): silent, as if it hung, until [`Self::resume`].
    pub fn pause(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Lets a paused node run again (SIGCONT).
    pub fn resume(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.id().expect("the node runs") as i32;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("signalled");
    }

    /// Kills the node at once (SIGKILL): no goodbye, no clean leave.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A NATS server and three embedded nodes of one cluster.
pub struct Three {
    _nats: Nats,
    /// The nodes.
    pub nodes: Vec<RouterHandle>,
}

impl Three {
    /// Starts the server and the nodes.
    pub async fn start() -> Three {
        let nats = Nats::start().await;
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(nats.node().await);
        }
        Three { _nats: nats, nodes }
    }

    /// A session joined to `realm1` on node `node` with `serializer`.
    pub async fn session(
        &self,
        node: usize,
        serializer: wamp_runtime::Serializer,
    ) -> wamp_runtime::Session {
        crate::join(
            wamp_runtime::Endpoint::from(self.nodes[node].url()),
            serializer,
        )
        .await
    }
}

/// Counts its drops: a handler holding one tells when it is stopped.
pub struct DropCounter(pub std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
