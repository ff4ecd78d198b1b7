//! A TCP path a test can cut: put between one router node and `nats-server`, it cuts
//! that node off alone while the others stay connected.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards every connection made to [`Cut::url`] to the upstream address until
/// [`Cut::cut`]; then drops them, and refuses new ones until [`Cut::mend`].
pub struct Cut {
    /// `nats://127.0.0.1:PORT` of the forwarding end.
    pub url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    /// Connections refused while cut.
    refused: AtomicU64,
    /// The forwarding tasks of the connections open now.
    open: Mutex<Vec<JoinHandle<()>>>,
}

impl Cut {
    /// Starts forwarding to `upstream` (`nats://HOST:PORT`).
    pub async fn start(upstream: &str) -> Cut {
        let upstream = upstream
            .strip_prefix("nats://")
            .unwrap_or(upstream)
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("nats://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if shared.cut.load(Ordering::SeqCst) {
                        shared.refused.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    shared.open.lock().unwrap().push(task);
                }
            }
        });
        Cut {
            url,
            shared,
            accept,
        }
    }

    /// Drops the connections open now and refuses new ones.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for task in self.shared.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Forwards new connections again.
    pub fn mend(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// How many connections were refused while cut (the node trying to reconnect).
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
