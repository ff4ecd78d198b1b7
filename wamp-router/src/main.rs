//! The `wamp-router` binary.

use std::net::SocketAddr;

use clap::Parser;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// jemalloc gives memory back: with its background thread on (see `main`), pages left
/// free for its decay time (10 s) are returned to the system, where glibc's malloc kept a
/// spike of 10,000 sessions resident after they had left (BENCHMARKS.md, "Memory").
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A WAMP router (WebSocket and RawSocket; JSON, MessagePack and CBOR).
///
/// Without --config it serves anonymous sessions on the listeners and realms the flags
/// name; with --config every setting comes from the TOML file.
#[derive(Debug, Parser)]
#[command(name = "wamp-router", version)]
struct Cli {
    /// Read listeners, realms, roles, principals and limits from this TOML file (see
    /// examples/router.toml).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["listen", "rawsocket", "rawsocket_unix", "realms", "max_message_size"])]
    config: Option<std::path::PathBuf>,
    /// Address to listen on for WebSocket connections (any path is accepted).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve the files of this directory to plain HTTP requests on the WebSocket address
    /// (a browser page next to its WAMP endpoint; / is index.html).
    #[arg(long = "static", value_name = "DIR", conflicts_with = "config")]
    static_dir: Option<std::path::PathBuf>,
    /// Also listen for RawSocket connections over TCP on this address.
    #[arg(long, value_name = "ADDR")]
    rawsocket: Option<SocketAddr>,
    /// Also listen for RawSocket connections on this Unix domain socket path.
    #[arg(long, value_name = "PATH")]
    rawsocket_unix: Option<std::path::PathBuf>,
    /// A realm to serve; repeat for several. Default: realm1.
    #[arg(long = "realm", value_name = "NAME")]
    realms: Vec<String>,
    /// Print a new WAMP-Cryptosign key pair (the private seed for the client, the public key
    /// for a principal's `cryptosign` list) and exit.
    #[arg(long, conflicts_with = "config")]
    keygen: bool,
    /// Read a password from standard input and print the WAMP-SCRAM credential a
    /// principal's `scram = {...}` stores (a random salt; never the password), then exit.
    #[arg(long, conflicts_with = "config")]
    scram_credential: bool,
    /// The key derivation of --scram-credential: argon2id13 (the spec's), argon2id-13
    /// (what Autobahn|Python and Crossbar.io compute) or pbkdf2.
    #[arg(
        long,
        value_name = "KDF",
        default_value = "argon2id13",
        requires = "scram_credential"
    )]
    scram_kdf: String,
    /// Serve GET /health, /ready and /metrics (Prometheus) over HTTP on this address (with
    /// --config too; it overrides the file's router.metrics).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// The largest message accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_message_size: usize,
    /// Join a cluster of routers through this NATS server (nats://HOST:PORT, JetStream
    /// on; several servers' URLs separated by commas; nats://USER:PASSWORD@HOST:PORT or
    /// nats://TOKEN@HOST:PORT for credentials, tls:// for TLS): the nodes of a cluster
    /// serve their realms together. With --config too; it overrides the file's [cluster].
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// The cluster's name, for several clusters on one NATS server.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "wamp",
        requires = "cluster"
    )]
    cluster_name: String,
    /// This node's label in logs (a fresh suffix is added at each start).
    #[arg(long, value_name = "LABEL", requires = "cluster")]
    cluster_node: Option<String>,
    /// The certificate (PEM) of the authority that signed the NATS server's, if the
    /// system does not trust it; the connection to NATS must then be TLS.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    cluster_ca: Option<std::path::PathBuf>,
    /// Log lines as text, or as JSON objects (one per line, with the session's peer, ID,
    /// realm, authid and authrole under "span").
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = match cli.log_format {
        LogFormat::Text => wamp_router::LogLayer::text(),
        LogFormat::Json => wamp_router::LogLayer::json(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(lines.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .init();
    // Freed pages go back to the system from jemalloc's own thread, not only when the
    // thread that freed them allocates again (an idle router would keep them).
    #[cfg(feature = "jemalloc")]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!("cannot start jemalloc's background thread: {e}");
    }
    if cli.keygen {
        let key = wamp_runtime::CryptosignKey::generate();
        println!(
            "private key (keep it secret; CryptosignKey::from_hex): {}",
            key.private_key_hex()
        );
        println!(
            "public key (a principal's cryptosign = [...]):        {}",
            key.public_key_hex()
        );
        return std::process::ExitCode::SUCCESS;
    }
    if cli.scram_credential {
        return scram_credential(&cli.scram_kdf);
    }
    let builder = match cli.config {
        Some(path) => match wamp_router::Router::from_config_file(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("wamp-router: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        None => {
            let realms = if cli.realms.is_empty() {
                vec!["realm1".to_string()]
            } else {
                cli.realms
            };
            let mut websocket = wamp_router::Listener::websocket(cli.listen);
            if let Some(dir) = cli.static_dir {
                websocket = websocket.static_files(dir);
            }
            let mut builder = wamp_router::Router::builder()
                .listener(websocket)
                .max_message_size(cli.max_message_size);
            for r in realms {
                builder = builder.realm(r);
            }
            if let Some(addr) = cli.rawsocket {
                builder = builder.rawsocket(addr);
            }
            if let Some(path) = cli.rawsocket_unix {
                builder = builder.rawsocket_unix(path);
            }
            builder
        }
    };
    let builder = match cli.metrics {
        Some(addr) => builder.metrics(addr),
        None => builder,
    };
    let builder = match cli.cluster {
        Some(url) => {
            let mut cluster = wamp_router::Cluster::nats(url).name(cli.cluster_name);
            if let Some(label) = cli.cluster_node {
                cluster = cluster.node(label);
            }
            if let Some(ca) = cli.cluster_ca {
                cluster = cluster.ca(ca);
            }
            builder.cluster(cluster)
        }
        None => builder,
    };
    let router = match builder.start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wamp-router: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for url in router.urls() {
        println!("wamp-router listening on {url}");
    }
    if let Some(addr) = router.metrics_addr() {
        println!("wamp-router health and metrics on http://{addr}");
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    router.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--scram-credential`: the stored credential of the password on standard input.
fn scram_credential(kdf: &str) -> std::process::ExitCode {
    use wamp_runtime::scram::{Credential, Kdf};
    // OWASP's recommended minimums: Argon2id with 19 MiB and 2 passes (one more here),
    // PBKDF2-HMAC-SHA256 with 600,000 iterations.
    let kdf = match kdf {
        "pbkdf2" => Kdf::from_name(kdf, 600_000, None),
        other => Kdf::from_name(other, 3, Some(19 * 1024)),
    };
    let mut password = String::new();
    let read = std::io::stdin().read_line(&mut password);
    let password = password.trim_end_matches(['\r', '\n']);
    let made = match (kdf, read) {
        (Ok(kdf), Ok(_)) if !password.is_empty() => {
            Credential::new(password, kdf).map_err(|e| e.to_string())
        }
        (Err(e), _) => Err(e.to_string()),
        (_, Err(e)) => Err(format!("cannot read the password: {e}")),
        _ => Err("give the password on standard input".into()),
    };
    match made {
        Ok(c) => {
            let memory = c
                .kdf
                .memory()
                .map(|m| format!(", memory = {m}"))
                .unwrap_or_default();
            println!(
                "scram = {{ kdf = \"{}\", iterations = {}{memory}, salt = \"{}\", stored_key = \"{}\", server_key = \"{}\" }}",
                c.kdf.name(),
                c.kdf.iterations(),
                hex::encode(&c.salt),
                hex::encode(c.keys.stored_key),
                hex::encode(c.keys.server_key),
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wamp-router: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
