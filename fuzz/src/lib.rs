//! What the fuzz targets share: the decoder check, and one live router per fuzzing process
//! (started once, on a current-thread runtime) that every input is thrown at.
//!
//! A panic anywhere, including inside a router task that tokio would otherwise catch,
//! aborts the process, which libFuzzer reports as a crash with the input that caused it.

use std::sync::OnceLock;

use bytes::Bytes;
use wamp_runtime::Serializer;

/// Decoding never panics; what decodes re-encodes in its own serializer and decodes again,
/// and transcoding it to the other serializers never panics.
pub fn check_decoder(serializer: Serializer, data: &[u8]) {
    abort_on_panic();
    let Ok(msg) = serializer.decode(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let again = match serializer.encode(&msg) {
        Ok(b) => b,
        Err(e) => panic!("{msg:?} decoded but does not encode: {e}"),
    };
    if let Err(e) = serializer.decode(&again) {
        panic!("{msg:?} re-encoded as {again:?} does not decode: {e}");
    }
    for other in Serializer::ALL {
        let _ = other.encode(&msg);
    }
}

/// Makes every panic abort the process.
pub fn abort_on_panic() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
    });
}

/// The live router: its runtime, and the handle.
pub struct Live {
    pub runtime: tokio::runtime::Runtime,
    pub router: wamp_router::RouterHandle,
}

/// The router every input of this process is thrown at: realm `realm1`, RawSocket on a
/// loopback port, short timeouts so an input that stalls cannot stall the fuzzer long.
pub fn live() -> &'static Live {
    static LIVE: OnceLock<Live> = OnceLock::new();
    LIVE.get_or_init(|| {
        abort_on_panic();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let router = runtime.block_on(async {
            wamp_router::Router::builder()
                .listen(([127, 0, 0, 1], 0).into())
                .rawsocket(([127, 0, 0, 1], 0).into())
                .realm("realm1")
                .max_message_size(64 * 1024)
                .hello_timeout(std::time::Duration::from_millis(200))
                .start()
                .await
                .unwrap_or_else(|e| panic!("router: {e}"))
        });
        Live { runtime, router }
    })
}

/// Sends `input` on a new TCP connection to the live router at `addr` and reads what it
/// answers until it closes (bounded); every 256th call, checks that a well-behaved client
/// still joins at `url`.
pub async fn throw_at(addr: std::net::SocketAddr, input: &[u8], url: String) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    static RUNS: AtomicU64 = AtomicU64::new(0);
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let _ = stream.write_all(input).await;
    let _ = stream.shutdown().await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
    if RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
        let joined = tokio::time::timeout(
            Duration::from_secs(5),
            wamp_runtime::Session::builder(url, "realm1").connect(),
        )
        .await;
        assert!(
            matches!(joined, Ok(Ok(_))),
            "the router stopped serving: {joined:?}"
        );
    }
}
