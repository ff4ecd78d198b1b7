//! A TCP path a test can cut: put between one router node and `nats-server`, it cuts
//! that node off alone while the others stay connected, or drops one message on its way
//! to the node (as NATS may: core NATS is at most once).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// Drop the next message to the node whose subject contains all of these.
    drop_next: Mutex<Option<Vec<String>>>,
    /// Messages dropped so.
    dropped: AtomicU64,
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
                    let (upstream, shared2) = (upstream.clone(), shared.clone());
                    let task = tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        let (mut from_server, mut to_server) = server.into_split();
                        let (mut from_client, to_client) = client.split();
                        let up = tokio::io::copy(&mut from_client, &mut to_server);
                        let down = forward(&shared2, &mut from_server, to_client);
                        tokio::select! {
                            _ = up => {}
                            _ = down => {}
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

    /// Drops the next message NATS sends the node on a subject containing all of `parts`.
    pub fn drop_next(&self, parts: &[&str]) {
        let parts = parts.iter().map(|p| p.to_string()).collect();
        *self.shared.drop_next.lock().unwrap() = Some(parts);
    }

    /// How many messages [`Cut::drop_next`] dropped.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::SeqCst)
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

/// Passes what the server sends on to the client, operation by operation (a line, and
/// for `MSG`/`HMSG` the payload its last number counts), leaving out the one message
/// [`Cut::drop_next`] asked for.
async fn forward(
    shared: &Shared,
    from: &mut tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::WriteHalf<'_>,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        while let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") {
            let line = &buf[at..at + eol];
            let mut end = at + eol + 2;
            let mut drop = false;
            if line.starts_with(b"MSG ") || line.starts_with(b"HMSG ") {
                let text = String::from_utf8_lossy(line).into_owned();
                let size: usize = text
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if buf.len() < end + size + 2 {
                    break;
                }
                end += size + 2;
                let subject = text.split(' ').nth(1).unwrap_or_default();
                let mut wanted = shared.drop_next.lock().unwrap();
                if wanted
                    .as_ref()
                    .is_some_and(|parts| parts.iter().all(|p| subject.contains(p.as_str())))
                {
                    *wanted = None;
                    shared.dropped.fetch_add(1, Ordering::SeqCst);
                    drop = true;
                }
            }
            if !drop {
                to.write_all(&buf[at..end]).await?;
            }
            at = end;
        }
        buf.drain(..at);
    }
}
