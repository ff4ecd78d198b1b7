//! `wamp-bench`: load for any WAMP router over WebSocket, and a baseline relay to compare
//! it with. See BENCHMARKS.md for the commands and the latest figures.
//!
//! ```sh
//! cargo run --release -p wamp-bench -- baseline --listen 127.0.0.1:9100 &
//! cargo run --release -p wamp-bench -- rpc --url ws://127.0.0.1:9100/ws
//! ```

mod background;
mod baseline;
mod client;
mod conn;
mod pubsub;
mod rpc;
mod sessions;
mod stats;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Payload, Value};
use wamp_runtime::Serializer;

/// Load for WAMP routers.
#[derive(Debug, Parser)]
#[command(name = "wamp-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// C callers keeping F calls in flight each against K callees (shared registration).
    Rpc {
        #[command(flatten)]
        load: LoadArgs,
        /// Caller sessions.
        #[arg(long, default_value_t = 4)]
        callers: usize,
        /// Calls in flight per caller.
        #[arg(long, default_value_t = 8)]
        in_flight: usize,
        /// Callee sessions (more than one: a round-robin shared registration).
        #[arg(long, default_value_t = 1)]
        callees: usize,
        /// The callees describe the procedure (`wamp.reflect.define`: one string
        /// argument), and the payload is a string: what a router that validates payloads
        /// checks.
        #[arg(long)]
        describe: bool,
        /// Where the callees join, when not at --url (a cluster's other nodes):
        /// comma-separated URLs, taken in turn.
        #[arg(long, value_name = "URLS")]
        callee_url: Option<String>,
    },
    /// Publishers with acknowledged publications and a bounded window, N subscribers.
    Pubsub {
        #[command(flatten)]
        load: LoadArgs,
        /// Publisher sessions.
        #[arg(long, default_value_t = 1)]
        publishers: usize,
        /// Subscriber sessions.
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        /// Unacknowledged publications per publisher at most.
        #[arg(long, default_value_t = 16)]
        window: usize,
        /// Where the subscribers join, when not at --url (a cluster's other nodes):
        /// comma-separated URLs, taken in turn.
        #[arg(long, value_name = "URLS")]
        subscriber_url: Option<String>,
    },
    /// A storm of N sessions with one subscription each: joins per second, and the
    /// router's memory before, with them idle, and after they leave.
    Sessions {
        #[command(flatten)]
        load: LoadArgs,
        /// Sessions to open.
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
        /// Joins in progress at a time.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// The router's process ID (its memory is read from /proc).
        #[arg(long)]
        pid: u32,
    },
    /// Runs the minimal relay to measure the scenarios against.
    Baseline {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// The router's URL: WebSocket (`ws://HOST:PORT/PATH`) or RawSocket (`tcp://HOST:PORT`).
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// The realm.
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// json or msgpack (or cbor).
    #[arg(long, default_value = "msgpack")]
    serializer: Serializer,
    /// Payload bytes per call or event.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of warm-up before measuring (rpc).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Registrations (rpc) or subscriptions (pubsub) that match nothing the scenario uses,
    /// made by one extra session before measuring: the router's cost per message as its
    /// indexes grow.
    #[arg(long, default_value_t = 0)]
    background: usize,
    /// The match policy of the background patterns: exact, prefix or wildcard.
    #[arg(long, default_value = "exact", value_parser = parse_policy)]
    background_match: MatchPolicy,
    /// What drives the scenario: the tool's lean connections, or our client
    /// (`wamp_runtime::Session`, or for rpc the stub `#[service]` generates), whose
    /// payloads are strings (compare with lean and --strings).
    #[arg(long, value_enum, default_value = "lean")]
    client: client::Client,
    /// Payloads are strings whatever the serializer (what the client modes send).
    #[arg(long)]
    strings: bool,
}

fn parse_policy(s: &str) -> Result<MatchPolicy, String> {
    MatchPolicy::parse(s).ok_or_else(|| format!("{s:?}: use exact, prefix or wildcard"))
}

/// What every scenario needs.
pub(crate) struct Load {
    pub(crate) url: String,
    pub(crate) realm: String,
    pub(crate) serializer: Serializer,
    pub(crate) payload_bytes: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) background: usize,
    pub(crate) background_match: MatchPolicy,
    /// Payloads are strings whatever the serializer.
    pub(crate) strings: bool,
    /// Where the callees or subscribers join (empty: at `url`), in turn.
    pub(crate) placed: Vec<String>,
    /// What drives the scenario.
    pub(crate) client: client::Client,
}

impl Load {
    fn new(a: LoadArgs) -> Self {
        Self {
            url: a.url,
            realm: a.realm,
            serializer: a.serializer,
            payload_bytes: a.payload,
            duration: Duration::from_secs_f64(a.seconds.max(0.1)),
            warmup: Duration::from_secs_f64(a.warmup.max(0.0)),
            background: a.background,
            background_match: a.background_match,
            strings: a.strings || a.client != client::Client::Lean,
            placed: Vec::new(),
            client: a.client,
        }
    }

    /// Places the callees or subscribers at `urls` (comma-separated), in turn.
    fn placed_at(mut self, urls: Option<String>) -> Self {
        let urls = urls.unwrap_or_default();
        let urls = urls.split(',').map(str::trim).filter(|u| !u.is_empty());
        self.placed = urls.map(str::to_owned).collect();
        self
    }

    /// Where the `i`th callee or subscriber joins.
    pub(crate) fn placed_url(&self, i: usize) -> &str {
        match self.placed.len() {
            0 => &self.url,
            n => &self.placed[i % n],
        }
    }

    /// What the output line says about where the callees or subscribers are.
    pub(crate) fn placed_label(&self, what: &str) -> String {
        match self.placed.len() {
            0 => String::new(),
            n => format!(", {what} on {n} other node(s)"),
        }
    }

    /// The payload value: bytes in binary serializers, a string in JSON (or always, with
    /// `strings`).
    pub(crate) fn bytes(&self) -> Value {
        match self.serializer {
            Serializer::Json => Value::Str("x".repeat(self.payload_bytes)),
            _ if self.strings => Value::Str("x".repeat(self.payload_bytes)),
            _ => Value::Bytes(vec![0x2a; self.payload_bytes]),
        }
    }

    /// What the output line says about the client driving the scenario.
    pub(crate) fn client_label(&self) -> String {
        match self.client {
            client::Client::Lean if self.strings => ", string payloads".into(),
            client::Client::Lean => String::new(),
            client::Client::Session => ", through Session".into(),
            client::Client::Stub => ", through the generated stub".into(),
        }
    }

    /// What the output line says about background patterns.
    pub(crate) fn background_label(&self) -> String {
        match self.background {
            0 => String::new(),
            n => format!(", {n} background {}", self.background_match.as_str()),
        }
    }

    /// The arguments of a call: the payload value alone.
    pub(crate) fn payload(&self) -> Payload {
        Payload::args(vec![self.bytes()])
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Baseline { listen } => baseline::serve(listen).await.map_err(|e| e.to_string()),
        Command::Rpc {
            load,
            callers,
            in_flight,
            callees,
            describe,
            callee_url,
        } => {
            let mut load = Load::new(load).placed_at(callee_url);
            load.strings |= describe;
            let run = match load.client {
                client::Client::Lean => {
                    rpc::run(&load, callers, in_flight, callees, describe).await
                }
                c => client::rpc(&load, c, callers, in_flight, callees).await,
            };
            match run {
                Ok(mut r) => {
                    let rate = r.calls as f64 / r.elapsed.as_secs_f64();
                    println!(
                        "rpc {} callers x {} in flight, {} callee(s), {} B {}{}{}{}{}: {rate:.0} calls/s  {}  ({} calls in all)",
                        callers,
                        in_flight,
                        callees,
                        load.payload_bytes,
                        load.serializer.name(),
                        load.background_label(),
                        if describe { ", described" } else { "" },
                        load.placed_label("callees"),
                        load.client_label(),
                        r.latencies.summary(),
                        r.total
                    );
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Pubsub {
            load,
            publishers,
            subscribers,
            window,
            subscriber_url,
        } => {
            let load = Load::new(load).placed_at(subscriber_url);
            if load.client == client::Client::Stub {
                eprintln!("wamp-bench: pubsub drives --client lean or session");
                return std::process::ExitCode::FAILURE;
            }
            match pubsub::run(&load, publishers, subscribers, window).await {
                Ok(mut r) => {
                    let secs = r.elapsed.as_secs_f64();
                    println!(
                        "pubsub {publishers} publisher(s) x {subscribers} subscribers, window {window}, {} B {}{}{}{}: {:.0} published/s  {:.0} delivered/s  lost {}  {}  ({} delivered in all)",
                        load.payload_bytes,
                        load.serializer.name(),
                        load.background_label(),
                        load.placed_label("subscribers"),
                        load.client_label(),
                        r.published as f64 / secs,
                        r.delivered as f64 / secs,
                        r.lost,
                        r.latencies.summary(),
                        r.delivered
                    );
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Sessions {
            load,
            sessions,
            concurrency,
            pid,
        } => {
            let load = Load::new(load);
            match sessions::run(&load, sessions, concurrency, pid).await {
                Ok(r) => {
                    let per =
                        |kib: u64| kib.saturating_sub(r.before_kib) as f64 / r.sessions as f64;
                    println!(
                        "sessions {} ({} joining at a time): {:.0} joins/s; router RSS {} KiB -> {} KiB idle ({:.1} KiB per session; settled {} KiB, {:.1} KiB per session) -> {} KiB after they left",
                        r.sessions, concurrency, r.joins_per_second, r.before_kib, r.idle_kib, per(r.idle_kib), r.settled_kib, per(r.settled_kib), r.left_kib
                    );
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wamp-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
