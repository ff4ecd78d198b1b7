//! The `wamp-router` binary.

use std::net::SocketAddr;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A WAMP router (WebSocket and RawSocket; JSON, MessagePack and CBOR).
#[derive(Debug, Parser)]
#[command(name = "wamp-router", version)]
struct Cli {
    /// Address to listen on for WebSocket connections (any path is accepted).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also listen for RawSocket connections over TCP on this address.
    #[arg(long, value_name = "ADDR")]
    rawsocket: Option<SocketAddr>,
    /// Also listen for RawSocket connections on this Unix domain socket path.
    #[arg(long, value_name = "PATH")]
    rawsocket_unix: Option<std::path::PathBuf>,
    /// A realm to serve; repeat for several. Default: realm1.
    #[arg(long = "realm", value_name = "NAME")]
    realms: Vec<String>,
    /// The largest message accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_message_size: usize,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let realms = if cli.realms.is_empty() {
        vec!["realm1".to_string()]
    } else {
        cli.realms
    };
    let mut builder = wamp_router::Router::builder()
        .listen(cli.listen)
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
    let router = match builder.start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wamp-router: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("wamp-router listening on {}", router.url());
    if let Some(url) = router.rawsocket_url() {
        println!("wamp-router listening on {url}");
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
